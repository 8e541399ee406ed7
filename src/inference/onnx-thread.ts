/**
 * The ONNX Runtime session in a worker thread of its own. onnxruntime-node's `session.run` is
 * synchronous on the calling thread (it only waits for a `setImmediate` first), so on the main
 * thread every batch blocks the event loop for its whole run: Kafka fetches, each round trip of
 * a transaction, Redis replies and heartbeats wait behind it, and none of that overlaps with
 * inference. Measured on the tiny model with a live Kafka stream: an exactly-once commit (five
 * round trips) took 120 ms at the median with the session on the main thread.
 *
 * The thread runs `OnnxBackend` unchanged (load, checks, warm-up, run), or the bench's simulated
 * device. A batch crosses as its unpadded ids (two transferred Int32Arrays); the thread pads them,
 * builds the tensors, runs the model and sends back every label's probability in one transferred
 * Float64Array: the main thread neither pads nor allocates per text. Batches queue in the thread,
 * so the batcher hands it the next one before the last ends (`depth`).
 *
 * A thread that dies (out of memory, a crash in ONNX Runtime) fails the batches on it, and a new one
 * loads the same model with the same options for the next (`restarting-thread.ts`).
 */
import { InferenceError, ModelError } from "../errors/errors.js";
import { RestartingThread, type RestartOptions } from "../threads/restarting-thread.js";
import type { InferenceBackend, PackedScores, ProviderChoice, RuntimeOptions } from "./inference-backend.js";
import type { PackedIds } from "./packed.js";
import type { PaddedBatch } from "./padded-batch.js";
import { recordSimulatedBatch, type SimulatedDeviceSpec } from "./simulated-device.js";

export interface ThreadInit {
  onnxPath: string;
  numLabels: number;
  runtime: RuntimeOptions;
  /** Run the bench's simulated device instead of the model (the ONNX file is not loaded). */
  simulated?: SimulatedDeviceSpec | undefined;
  /** What `scorePacked` sends back: each row softmaxed (a classifier), or the raw logits (a zero-shot model compares one logit across rows). */
  output?: "probabilities" | "logits";
}

/** A batch as it crosses to the thread: padded already (`run`), or packed ids the thread pads (`scorePacked`). */
export type RunRequest = ({ kind: "padded" } & PaddedBatch) | ({ kind: "packed" } & PackedIds);
export type RunReply = Float32Array | PackedScores;

export class ThreadedOnnxBackend implements InferenceBackend {
  /** The next batch waits in the thread while one runs, so the model never waits for this thread. */
  readonly depth = 2;

  private constructor(
    private readonly channel: RestartingThread<RunRequest, RunReply>,
    readonly numLabels: number,
    private readonly simulated: SimulatedDeviceSpec | undefined,
  ) {}

  /** Starts the thread and loads the model there; rejects with the thread's ModelError when it cannot. */
  static async load(
    onnxPath: string,
    numLabels: number,
    runtime: RuntimeOptions,
    simulated?: SimulatedDeviceSpec,
    options: RestartOptions & { threadUrl?: URL; output?: ThreadInit["output"] } = {},
  ): Promise<ThreadedOnnxBackend> {
    const { threadUrl, output = "probabilities", ...restart } = options;
    const channel = await RestartingThread.start<RunRequest, RunReply>(
      threadUrl ?? new URL("./onnx-thread-main.js", import.meta.url),
      { onnxPath, numLabels, runtime: { ...runtime }, simulated, output } satisfies ThreadInit,
      {
        name: "the inference thread",
        load: (message) => new ModelError(message),
        run: (message, options) => new InferenceError(message, options),
      },
      restart,
    );
    return new ThreadedOnnxBackend(channel, numLabels, simulated);
  }

  /** False from the thread's death until a new one loaded the model. */
  get ready(): boolean {
    return this.channel.ready;
  }

  get providers(): ProviderChoice {
    return this.channel.info as ProviderChoice;
  }

  async run(batch: PaddedBatch): Promise<Float32Array> {
    const { size, length, inputIds, attentionMask, realTokens } = batch;
    // Transferred: the batch is the batcher's to drop once it runs, never read again on this side.
    const logits = (await this.channel.request({ kind: "padded", size, length, inputIds, attentionMask, realTokens }, [
      inputIds.buffer,
      attentionMask.buffer,
    ] as ArrayBuffer[])) as Float32Array;
    if (this.simulated) recordSimulatedBatch(this.simulated, size);
    return logits;
  }

  async scorePacked(batch: PackedIds): Promise<PackedScores> {
    const { ids, starts } = batch;
    const size = starts.length - 1; // read before the transfer empties it
    // Transferred, as above: the caller built them for this batch alone.
    const scored = (await this.channel.request({ kind: "packed", ids, starts }, [
      ids.buffer,
      starts.buffer,
    ] as ArrayBuffer[])) as PackedScores;
    if (this.simulated) recordSimulatedBatch(this.simulated, size);
    return scored;
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
