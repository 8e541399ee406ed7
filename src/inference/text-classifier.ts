/**
 * A model as `compare` and shadow mode use it: texts in, one result per text scored by its labels.
 * A classifier (the student) or a zero-shot NLI model (the teacher), told apart by `model.kind`, or,
 * with `auto`, by an entailment label in config.json's id2label.
 */
import { type Classified, type ClassifierOptions, SentimentClassifier } from "./classifier.js";
import { type ModelFiles, resolveModel } from "./model/index.js";
import { isZeroShot } from "./model/model-kind.js";
import { ZeroShotClassifier } from "./zero-shot.js";

export interface TextClassifier {
  readonly kind: "classifier" | "zero-shot";
  /** The model's files; `labels` are what results are scored by (the candidate labels of a zero-shot model). */
  readonly model: ModelFiles;
  classifyAll(texts: readonly string[]): Promise<Classified[]>;
  close(): Promise<void>;
}

export async function loadTextClassifier(options: ClassifierOptions): Promise<TextClassifier> {
  const model = await resolveModel({ ...options.model, ...(options.log ? { log: options.log } : {}) });
  if (isZeroShot(model, options.model.kind)) {
    return ZeroShotClassifier.load(model, { ...options, zeroShot: options.model.zeroShot });
  }
  return SentimentClassifier.loadResolved(model, options);
}
