/**
 * The contract between the batcher and a model runtime: ONNX Runtime on a CPU today (in a thread of
 * its own), a GPU provider or another runtime behind the same few calls.
 */
import type { PaddedBatch } from "./padded-batch.js";

/** Which execution providers a session runs on, and those of the list that could not start here. */
export interface ProviderChoice {
  used: readonly string[];
  skipped: ReadonlyArray<{ provider: string; reason: string }>;
}

export interface RuntimeOptions {
  executionProviders: readonly string[];
  intraOpThreads: number;
  interOpThreads: number;
}

/** The tiny boundary the batcher needs from a model runtime (after text-embeddings-inference). */
export interface InferenceBackend {
  readonly numLabels: number;
  /** The execution providers in use (absent for a runtime without them). */
  readonly providers?: ProviderChoice;
  /** Logits, row-major [batch.size x numLabels]. */
  run(batch: PaddedBatch): Promise<Float32Array>;
  close(): Promise<void>;
}
