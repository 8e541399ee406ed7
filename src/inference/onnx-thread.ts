/**
 * The ONNX Runtime session in a worker thread of its own. onnxruntime-node's `session.run` is
 * synchronous on the calling thread (it only waits for a `setImmediate` first), so on the main
 * thread every batch blocks the event loop for its whole run: Kafka fetches, each round trip of
 * a transaction, Redis replies and heartbeats wait behind it, and none of that overlaps with
 * inference. Measured on the tiny model with a live Kafka stream: an exactly-once commit (five
 * round trips) took 120 ms at the median with the session on the main thread.
 *
 * The thread runs `OnnxBackend` unchanged (load, checks, warm-up, run); this side only moves
 * batches there and logits back. Input tensors are transferred, not copied.
 */
import { InferenceError, ModelError } from "../errors/errors.js";
import { WorkerChannel } from "../threads/worker-channel.js";
import type { InferenceBackend, ProviderChoice, RuntimeOptions } from "./inference-backend.js";
import type { PaddedBatch } from "./padded-batch.js";

export interface ThreadInit {
  onnxPath: string;
  numLabels: number;
  runtime: RuntimeOptions;
}

/** A padded batch as it crosses to the thread. */
export type RunRequest = PaddedBatch;

export class ThreadedOnnxBackend implements InferenceBackend {
  private constructor(
    private readonly channel: WorkerChannel<RunRequest, Float32Array>,
    readonly numLabels: number,
  ) {}

  /** Starts the thread and loads the model there; rejects with the thread's ModelError when it cannot. */
  static async load(onnxPath: string, numLabels: number, runtime: RuntimeOptions): Promise<ThreadedOnnxBackend> {
    const channel = await WorkerChannel.start<RunRequest, Float32Array>(
      new URL("./onnx-thread-main.js", import.meta.url),
      { onnxPath, numLabels, runtime: { ...runtime } } satisfies ThreadInit,
      {
        name: "the inference thread",
        load: (message) => new ModelError(message),
        run: (message, cause) => new InferenceError(message, cause === undefined ? undefined : { cause }),
      },
    );
    return new ThreadedOnnxBackend(channel, numLabels);
  }

  get providers(): ProviderChoice {
    return this.channel.info as ProviderChoice;
  }

  run(batch: PaddedBatch): Promise<Float32Array> {
    const { size, length, inputIds, attentionMask, realTokens } = batch;
    // Transferred: the batch is the batcher's to drop once it runs, never read again on this side.
    return this.channel.request({ size, length, inputIds, attentionMask, realTokens }, [
      inputIds.buffer,
      attentionMask.buffer,
    ] as ArrayBuffer[]);
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
