/**
 * The inference engine as callers see it: text in, sentiment out. Tokenizes on submit (the token
 * count prices the item in the batcher), batches across callers, runs the model, and hands each
 * caller its own result.
 */
import type { Config } from "../config/index.js";
import { ModelError } from "../errors/errors.js";
import { loadBackend } from "./backend-factory.js";
import { type BatchStats, ChunkBatcher, type CutBatch } from "./batcher.js";
import type { InferenceBackend, PackedScores } from "./inference-backend.js";
import { type ModelFiles, resolveModel } from "./model/index.js";
import { isZeroShot } from "./model/model-kind.js";
import {
  classifiedAt,
  type PackedEncodings,
  type PackedIds,
  type PackedResults,
  packEncodings,
  packedCount,
} from "./packed.js";
import { padPacked } from "./padded-batch.js";
import { type Sentiment, softmaxRows } from "./postprocess.js";
import { type EncodedText, TextTokenizer } from "./tokenizer.js";
import { ThreadedTokenizer } from "./tokenizer-thread.js";

/** What the classifier needs of a tokenizer: in process, or in a thread of its own. */
export type Tokenizer = Pick<TextTokenizer, "encodeAll"> & {
  encodePacked?(texts: readonly string[]): Promise<PackedEncodings>;
  close?(): Promise<void>;
  /** False while a tokenizer thread that died is not replaced yet. */
  readonly ready?: boolean;
};

export interface Classified extends Sentiment {
  truncated: boolean;
  tokens: number;
}

export interface ClassifierOptions {
  model: Config["model"];
  batching: Config["batching"];
  runtime: Config["runtime"];
  onBatch?: (stats: BatchStats) => void;
  /** Called after each inference batch with the time ONNX Runtime took (metrics). */
  onInference?: (ms: number) => void;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** Texts tokenized per call by `classifyAll`: one chunk's worth. */
const TOKENIZE_SLICE = 256;

/** A chunk in the batcher: its encodings, and its scores as its batches come back. */
interface ScoredChunk {
  readonly encodings: PackedEncodings;
  readonly scores: Float64Array;
}

export class SentimentClassifier {
  private readonly batcher: ChunkBatcher<ScoredChunk, PackedIds>;

  constructor(
    readonly model: ModelFiles,
    private readonly tokenizer: Tokenizer,
    private readonly backend: InferenceBackend,
    batching: Config["batching"],
    hooks: Pick<ClassifierOptions, "onBatch" | "onInference"> = {},
  ) {
    const labels = model.labels.length;
    const score = scorerOf(backend, labels);
    this.batcher = new ChunkBatcher<ScoredChunk, PackedIds>(
      {
        tokens: ({ encodings: { starts } }, i) => (starts[i + 1] as number) - (starts[i] as number),
        prepare: (batch) => gatherIds(batch),
        run: async (ids, batch) => {
          const { scores, runMs } = await score(ids);
          hooks.onInference?.(runMs);
          // Each row to its chunk's place: a copy of a few numbers per text, nothing allocated.
          for (let k = 0; k < batch.size; k++) {
            const into = (batch.chunks[k] as ScoredChunk).scores;
            const to = (batch.indices[k] as number) * labels;
            for (let l = 0; l < labels; l++) into[to + l] = scores[k * labels + l] as number;
          }
        },
        depth: backend.depth ?? 1,
      },
      batching,
      { onBatch: hooks.onBatch },
    );
  }

  /** What `loadTextClassifier` tells apart: this is one text in, a score per label of config.json out. */
  readonly kind = "classifier";

  /** Resolves the model (local directory or hub cache), loads the tokenizer and the session, warms up. */
  static async load(options: ClassifierOptions): Promise<SentimentClassifier> {
    const model = await resolveModel({ ...options.model, ...(options.log ? { log: options.log } : {}) });
    return SentimentClassifier.loadResolved(model, options);
  }

  /** `load` of a model already resolved (`loadTextClassifier` looks at it first). */
  static async loadResolved(model: ModelFiles, options: ClassifierOptions): Promise<SentimentClassifier> {
    if (isZeroShot(model, options.model.kind)) {
      throw new ModelError(
        `${model.dir} is a zero-shot NLI model (an entailment label in its config.json): it can be a candidate of ` +
          "`compare` or the shadow (rollout.shadow), not the model that tags events; set model.dir/model.id to a " +
          "sentiment classifier, or model.kind=classifier if it really is one",
      );
    }
    // The JavaScript encoder runs on a thread of its own (its vocabulary is loaded there only); the
    // Rust library already encodes on libuv's pool.
    const tokenizer: Tokenizer = TextTokenizer.isBertShape(model.tokenizerPath)
      ? await ThreadedTokenizer.start(model.tokenizerPath, model.maxLength, { log: options.log })
      : TextTokenizer.fromFile(model.tokenizerPath, model.maxLength);
    try {
      const backend = await loadBackend(model, options.runtime, { log: options.log });
      for (const { provider, reason } of backend.providers?.skipped ?? []) {
        options.log?.("execution provider unavailable, using the next in runtime.executionProviders", {
          provider,
          reason,
          using: backend.providers?.used,
        });
      }
      return new SentimentClassifier(model, tokenizer, backend, options.batching, options);
    } catch (error) {
      await tokenizer.close?.();
      throw error;
    }
  }

  /** The model's threads run (false while one that died is not replaced yet: readiness). */
  get ready(): boolean {
    return this.backend.ready !== false && this.tokenizer.ready !== false;
  }

  /** The texts' encodings, in order: one call per chunk, tokenized off the event loop. */
  encodeAll(texts: readonly string[]): Promise<EncodedText[]> {
    return this.tokenizer.encodeAll(texts);
  }

  /** The texts' encodings packed, in order: one call per chunk, tokenized off the event loop. */
  async encodePacked(texts: readonly string[]): Promise<PackedEncodings> {
    return this.tokenizer.encodePacked
      ? this.tokenizer.encodePacked(texts)
      : packEncodings(await this.tokenizer.encodeAll(texts));
  }

  /**
   * A chunk's encodings queued at once (admitted whole, even beyond the queue's capacity: callers
   * wait for `hasCapacity` first); their results in order. Rejects with AbandonedItemError when
   * `signal` aborts before every text's batch was cut.
   */
  async classifyPacked(encodings: PackedEncodings, signal?: AbortSignal): Promise<PackedResults> {
    return this.queuePacked(encodings, signal, true);
  }

  private async queuePacked(encodings: PackedEncodings, signal: AbortSignal | undefined, overCapacity: boolean) {
    const chunk: ScoredChunk = {
      encodings,
      scores: new Float64Array(packedCount(encodings) * this.model.labels.length),
    };
    await this.batcher.enqueue(chunk, packedCount(encodings), signal, { overCapacity });
    return { scores: chunk.scores };
  }

  /**
   * Queues an encoded text; rejects with QueueFullError when the queue is full (see `whenCapacity`),
   * and with AbandonedItemError when `signal` aborts before the text's batch was cut.
   */
  async submit(encoded: EncodedText, signal?: AbortSignal): Promise<Classified> {
    const packed = packEncodings([encoded]);
    return classifiedAt(await this.queuePacked(packed, signal, false), packed, 0, this.model.labels);
  }

  /** One text's result; waits for room in the queue (after tokenizing) instead of failing. */
  async classify(text: string, signal?: AbortSignal): Promise<Classified> {
    const packed = await this.encodePacked([text]);
    if (!this.batcher.hasCapacity) await this.batcher.room();
    return classifiedAt(await this.queuePacked(packed, signal, true), packed, 0, this.model.labels);
  }

  /**
   * Every text's result in the given order; waits for room in the queue instead of failing. The
   * next slice is tokenized while this one is queued, so tokenizing overlaps the model's runs.
   */
  async classifyAll(texts: readonly string[]): Promise<Classified[]> {
    const labels = this.model.labels;
    return this.classifySliced(
      texts,
      TOKENIZE_SLICE,
      (slice) => this.encodePacked(slice),
      (results, packed) =>
        Array.from({ length: packedCount(packed) }, (_, i) => classifiedAt(results, packed, i, labels)),
    );
  }

  /**
   * `classifyAll`'s loop for any encoding of texts (a zero-shot model's pairs too): `sliceSize` texts
   * encoded at a time, the next slice while this one is queued; each slice's rows read into results
   * by `read` once its batches came back. Waits for room in the queue instead of failing.
   */
  async classifySliced(
    texts: readonly string[],
    sliceSize: number,
    encode: (texts: readonly string[]) => Promise<PackedEncodings>,
    read: (results: PackedResults, encodings: PackedEncodings) => Classified[],
  ): Promise<Classified[]> {
    const slices: Promise<Classified[]>[] = [];
    let next = encode(texts.slice(0, sliceSize));
    for (let at = 0; at < texts.length; at += sliceSize) {
      const packed = await next;
      const after = at + sliceSize;
      if (after < texts.length) next = encode(texts.slice(after, after + sliceSize));
      if (!this.batcher.hasCapacity) await this.batcher.room();
      const slice = this.queuePacked(packed, undefined, true).then((results) => read(results, packed));
      slice.catch(() => {});
      slices.push(slice);
    }
    return (await Promise.all(slices)).flat();
  }

  get hasCapacity(): boolean {
    return this.batcher.hasCapacity;
  }

  whenCapacity(): Promise<void> {
    return this.batcher.whenCapacity();
  }

  /** Finishes what is queued, then releases the session. */
  async close(): Promise<void> {
    await this.batcher.close();
    await Promise.all([this.backend.close(), this.tokenizer.close?.()]);
  }
}

/** A batch's ids, gathered from its chunks into two fresh arrays (they are transferred to the model's thread). */
function gatherIds(batch: CutBatch<ScoredChunk>): PackedIds {
  const starts = new Int32Array(batch.size + 1);
  for (let k = 0; k < batch.size; k++) starts[k + 1] = (starts[k] as number) + (batch.tokens[k] as number);
  const ids = new Int32Array(starts[batch.size] as number);
  for (let k = 0; k < batch.size; k++) {
    const { encodings } = batch.chunks[k] as ScoredChunk;
    const from = encodings.starts[batch.indices[k] as number] as number;
    const to = starts[k] as number;
    const count = batch.tokens[k] as number;
    // A loop, not `set(subarray())`: a view per text would be an object per text.
    for (let t = 0; t < count; t++) ids[to + t] = encodings.ids[from + t] as number;
  }
  return { ids, starts };
}

/** Probabilities for a batch: padded where the backend runs when it can, here otherwise. */
function scorerOf(backend: InferenceBackend, labels: number): (batch: PackedIds) => Promise<PackedScores> {
  if (backend.scorePacked) return (batch) => (backend.scorePacked as (b: PackedIds) => Promise<PackedScores>)(batch);
  return async (batch) => {
    const started = performance.now();
    const logits = await backend.run(padPacked(batch));
    return { scores: softmaxRows(logits, labels), runMs: performance.now() - started };
  };
}
