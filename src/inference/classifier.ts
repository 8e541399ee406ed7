/**
 * The inference engine as callers see it: text in, sentiment out. Tokenizes on submit (the token
 * count prices the item in the batcher), batches across callers, runs the model, and hands each
 * caller its own result.
 */
import type { Config } from "../config/index.js";
import { loadBackend } from "./backend-factory.js";
import { type BatchStats, DynamicBatcher } from "./batcher.js";
import type { InferenceBackend } from "./inference-backend.js";
import { type ModelFiles, resolveModel } from "./model/index.js";
import { type PackedEncodings, type PackedResults, packEncodings, packedCount, unpackEncoding } from "./packed.js";
import { type PaddedBatch, padBatch } from "./padded-batch.js";
import { type Sentiment, toSentiments } from "./postprocess.js";
import { type EncodedText, TextTokenizer } from "./tokenizer.js";
import { ThreadedTokenizer } from "./tokenizer-thread.js";

/** What the classifier needs of a tokenizer: in process, or in a thread of its own. */
export type Tokenizer = Pick<TextTokenizer, "encodeAll"> & {
  encodePacked?(texts: readonly string[]): Promise<PackedEncodings>;
  close?(): Promise<void>;
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

export class SentimentClassifier {
  private readonly batcher: DynamicBatcher<EncodedText, PaddedBatch, Classified>;

  constructor(
    readonly model: ModelFiles,
    private readonly tokenizer: Tokenizer,
    private readonly backend: InferenceBackend,
    batching: Config["batching"],
    hooks: Pick<ClassifierOptions, "onBatch" | "onInference"> = {},
  ) {
    this.batcher = new DynamicBatcher<EncodedText, PaddedBatch, Classified>(
      {
        prepare: (items) => padBatch(items),
        run: async (batch, items) => {
          const started = performance.now();
          const logits = await backend.run(batch);
          hooks.onInference?.(performance.now() - started);
          const sentiments = toSentiments(logits, model.labels);
          return sentiments.map((s, i) => ({
            ...s,
            truncated: items[i]?.truncated ?? false,
            tokens: items[i]?.tokens ?? 0,
          }));
        },
      },
      batching,
      { onBatch: hooks.onBatch },
    );
  }

  /** Resolves the model (local directory or hub cache), loads the tokenizer and the session, warms up. */
  static async load(options: ClassifierOptions): Promise<SentimentClassifier> {
    const model = await resolveModel({ ...options.model, ...(options.log ? { log: options.log } : {}) });
    // The JavaScript encoder runs on a thread of its own (its vocabulary is loaded there only); the
    // Rust library already encodes on libuv's pool.
    const tokenizer: Tokenizer = TextTokenizer.isBertShape(model.tokenizerPath)
      ? await ThreadedTokenizer.start(model.tokenizerPath, model.maxLength)
      : TextTokenizer.fromFile(model.tokenizerPath, model.maxLength);
    try {
      const backend = await loadBackend(model, options.runtime);
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
    const n = packedCount(encodings);
    const labels = this.model.labels;
    const pending: Promise<Classified>[] = [];
    for (let i = 0; i < n; i++) {
      const result = this.batcher.submit(unpackEncoding(encodings, i), signal, { overCapacity: true });
      result.catch(() => {});
      pending.push(result);
    }
    const scores = new Float64Array(n * labels.length);
    for (const [i, result] of (await Promise.all(pending)).entries()) {
      for (const [l, label] of labels.entries()) scores[i * labels.length + l] = result.scores[label] ?? 0;
    }
    return { scores };
  }

  /**
   * Queues an encoded text; rejects with QueueFullError when the queue is full (see `whenCapacity`),
   * and with AbandonedItemError when `signal` aborts before the text's batch was cut.
   */
  submit(encoded: EncodedText, signal?: AbortSignal): Promise<Classified> {
    return this.batcher.submit(encoded, signal);
  }

  /** One text's result; waits for room in the queue (after tokenizing) instead of failing. */
  async classify(text: string, signal?: AbortSignal): Promise<Classified> {
    const [encoded] = await this.encodeAll([text]);
    if (!this.batcher.hasCapacity) await this.batcher.room();
    return this.submit(encoded as EncodedText, signal);
  }

  /**
   * Every text's result in the given order; waits for room in the queue instead of failing. The
   * next slice is tokenized while this one is queued, so tokenizing overlaps the model's runs.
   */
  async classifyAll(texts: readonly string[]): Promise<Classified[]> {
    const results: Promise<Classified>[] = [];
    let next = this.encodeAll(texts.slice(0, TOKENIZE_SLICE));
    for (let at = 0; at < texts.length; at += TOKENIZE_SLICE) {
      const encoded = await next;
      const after = at + TOKENIZE_SLICE;
      if (after < texts.length) next = this.encodeAll(texts.slice(after, after + TOKENIZE_SLICE));
      results.push(...(await this.batcher.queueAll(encoded)));
    }
    return Promise.all(results);
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
