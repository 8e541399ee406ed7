/**
 * The contract between the batcher and a model runtime: ONNX Runtime on a CPU today (in a thread of
 * its own), a GPU provider or another runtime behind the same few calls.
 */
import type { PackedIds } from "./packed.js";
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
  /** Sessions, each on a thread of its own (default 1). */
  inferenceThreads?: number;
}

/** The tiny boundary the batcher needs from a model runtime (after text-embeddings-inference). */
export interface InferenceBackend {
  readonly numLabels: number;
  /** The execution providers in use (absent for a runtime without them). */
  readonly providers?: ProviderChoice;
  /** Logits, row-major [batch.size x numLabels]. */
  run(batch: PaddedBatch): Promise<Float32Array>;
  /**
   * A batch of unpadded ids, padded where the model runs (off the caller's thread): every label's
   * probability, row-major [batch size x numLabels], and how long the model itself took. Without
   * it the caller pads and calls `run`.
   */
  scorePacked?(batch: PackedIds): Promise<PackedScores>;
  /** False while the runtime cannot take batches (its thread died and a new one has not loaded yet); absent: always. */
  readonly ready?: boolean;
  /** Above 1 when the backend queues batches itself (a thread running one at a time): how many to hand it at once. */
  readonly depth?: number;
  /**
   * The backend keeps a queue of its own (a device's stream): a batch handed to `run` while another
   * runs waits there and starts the moment the one before ends, so its thread hands each batch over
   * as it arrives instead of after answering the one before. Absent: one `run` at a time.
   */
  readonly queuesRuns?: boolean;
  close(): Promise<void>;
}

export interface PackedScores {
  scores: Float64Array;
  /** The model's own time on the batch, in milliseconds (not the wait behind the batch before it). */
  runMs: number;
}
