/**
 * A zero-shot NLI model as a sentiment classifier — the student's teacher
 * (`MoritzLaurer/mDeBERTa-v3-base-mnli-xnli`, asked "The sentiment of this text is {}."). Exactly
 * transformers' `ZeroShotClassificationPipeline` with `multi_label=False`: each text is paired with
 * one hypothesis per candidate label (the text truncated, never the hypothesis), the model gives
 * logits per pair, and the entailment logits of a text's pairs are softmaxed across the labels.
 *
 * The pairs go through the student's machinery unchanged: the same batcher (a pair is one item,
 * priced by its tokens) and the same ONNX thread, which sends back raw logits instead of
 * probabilities. Used as a candidate (`compare`, shadow mode), not as the primary.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../config/index.js";
import { ModelError } from "../errors/errors.js";
import { type Classified, type ClassifierOptions, SentimentClassifier } from "./classifier.js";
import type { ModelFiles } from "./model/index.js";
import { entailmentIndex } from "./model/model-kind.js";
import { ThreadedOnnxBackend } from "./onnx-thread.js";
import { classifiedRow, type PackedEncodings, packedCount } from "./packed.js";
import { PairTokenizer } from "./pair-tokenizer.js";
import { softmax } from "./postprocess.js";

/** Texts whose pairs are tokenized per call (×labels pairs): a shadow chunk's worth. */
const TOKENIZE_SLICE = 128;

export class ZeroShotClassifier {
  readonly kind = "zero-shot";
  /** The NLI model's files, with `labels` the candidate labels (what its results are scored by). */
  readonly model: ModelFiles;

  private constructor(
    nliModel: ModelFiles,
    readonly nliLabels: readonly string[],
    readonly entailment: number,
    readonly hypotheses: readonly string[],
    private readonly pairs: PairTokenizer,
    private readonly inner: SentimentClassifier,
    settings: Config["model"]["zeroShot"],
  ) {
    this.model = { ...nliModel, labels: [...settings.candidateLabels] };
  }

  /** A resolved NLI model directory: its pair tokenizer and its session (sending logits), warmed up. */
  static async load(
    model: ModelFiles,
    options: Omit<ClassifierOptions, "model"> & { zeroShot: Config["model"]["zeroShot"] },
  ): Promise<ZeroShotClassifier> {
    const entailment = entailmentIndex(model.labels);
    const configPath = join(model.dir, "config.json");
    if (entailment < 0) {
      throw new ModelError(`${configPath} has no entailment label (${model.labels.join(", ")}): not an NLI model`);
    }
    const config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
    // BERT-style NLI models tell the hypothesis by its token types; the batches carry ids only.
    if (typeof config.type_vocab_size === "number" && config.type_vocab_size > 1) {
      throw new ModelError(
        `${configPath} has type_vocab_size ${config.type_vocab_size}: this NLI model needs token_type_ids for the hypothesis, ` +
          "which zero-shot mode does not send yet; use a DeBERTa-v2/v3 or XLM-RoBERTa NLI model (type_vocab_size 0 or 1)",
      );
    }
    const { hypothesisTemplate, candidateLabels } = options.zeroShot;
    const hypotheses = candidateLabels.map((label) => hypothesisTemplate.replaceAll("{}", label));
    const pairs = PairTokenizer.fromFile(model.tokenizerPath, model.maxLength);
    for (const hypothesis of hypotheses) {
      const tokens = await pairs.hypothesisTokens(hypothesis);
      if (tokens >= model.maxLength) {
        throw new ModelError(
          `the hypothesis "${hypothesis}" takes ${tokens} of the ${model.maxLength} tokens of a pair (model.maxLength): ` +
            "no room is left for the text; shorten model.zeroShot.hypothesisTemplate or raise model.maxLength",
        );
      }
    }
    const backend = await ThreadedOnnxBackend.load(model.onnxPath, model.labels.length, options.runtime, undefined, {
      output: "logits",
      log: options.log,
    });
    const noSingleTexts = {
      encodeAll: () => Promise.reject(new Error("a zero-shot model encodes pairs (ZeroShotClassifier.classifyAll)")),
    };
    const inner = new SentimentClassifier(model, noSingleTexts, backend, options.batching, options);
    return new ZeroShotClassifier(model, model.labels, entailment, hypotheses, pairs, inner, options.zeroShot);
  }

  /**
   * Every text's result in order, scored by the candidate labels. The next slice's pairs are
   * tokenized while this slice's are queued.
   */
  classifyAll(texts: readonly string[]): Promise<Classified[]> {
    return this.inner.classifySliced(
      texts,
      TOKENIZE_SLICE,
      (slice) => this.pairs.encodePairs(slice, this.hypotheses),
      ({ scores: logits }, pairs) => this.results(logits, pairs),
    );
  }

  /**
   * Logits of a slice's pairs (a row of NLI labels per pair, text-major) to one result per text: the
   * entailment logit of each of its pairs, softmaxed across the candidate labels.
   */
  private results(logits: Float64Array, pairs: PackedEncodings): Classified[] {
    const h = this.hypotheses.length;
    const n = this.nliLabels.length;
    const count = packedCount(pairs) / h;
    const entailment = new Float64Array(h);
    const out: Classified[] = [];
    for (let t = 0; t < count; t++) {
      let truncated = false;
      for (let l = 0; l < h; l++) {
        entailment[l] = logits[(t * h + l) * n + this.entailment] as number;
        truncated ||= pairs.truncated[t * h + l] === 1;
      }
      // What the text cost: its pairs' tokens together.
      const tokens = (pairs.starts[(t + 1) * h] as number) - (pairs.starts[t * h] as number);
      out.push(classifiedRow(softmax(entailment), 0, this.model.labels, truncated, tokens));
    }
    return out;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
