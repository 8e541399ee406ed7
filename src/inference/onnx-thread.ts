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
  /**
   * One thread: the next batch waits in it while one runs, so the model never waits for this
   * thread. Several (`runtime.inferenceThreads`): a batch each, handed to the first one free; a
   * batch waiting at a busy thread would wait there while another thread is free.
   */
  readonly depth: number;
  /** Batches each thread has, running or waiting. */
  private readonly busy: number[];

  private constructor(
    private readonly channels: readonly RestartingThread<RunRequest, RunReply>[],
    readonly numLabels: number,
    private readonly simulated: SimulatedDeviceSpec | undefined,
  ) {
    this.depth = channels.length === 1 ? 2 : channels.length;
    this.busy = channels.map(() => 0);
  }

  /** Starts the threads and loads the model in each; rejects with a thread's ModelError when it cannot. */
  static async load(
    onnxPath: string,
    numLabels: number,
    runtime: RuntimeOptions,
    simulated?: SimulatedDeviceSpec,
    options: RestartOptions & { threadUrl?: URL; output?: ThreadInit["output"] } = {},
  ): Promise<ThreadedOnnxBackend> {
    const { threadUrl, output = "probabilities", ...restart } = options;
    const start = () =>
      RestartingThread.start<RunRequest, RunReply>(
        threadUrl ?? new URL("./onnx-thread-main.js", import.meta.url),
        { onnxPath, numLabels, runtime: { ...runtime }, simulated, output } satisfies ThreadInit,
        {
          name: "the inference thread",
          load: (message) => new ModelError(message),
          run: (message, options) => new InferenceError(message, options),
        },
        restart,
      );
    const started = await Promise.allSettled(Array.from({ length: Math.max(1, runtime.inferenceThreads ?? 1) }, start));
    const channels = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failed = started.find((s) => s.status === "rejected");
    if (failed) {
      await Promise.all(channels.map((c) => c.close()));
      throw failed.reason;
    }
    return new ThreadedOnnxBackend(channels, numLabels, simulated);
  }

  /** False while no thread has the model loaded (from a thread's death until a new one loaded it). */
  get ready(): boolean {
    return this.channels.some((c) => c.ready);
  }

  get providers(): ProviderChoice {
    return (this.channels[0] as RestartingThread<RunRequest, RunReply>).info as ProviderChoice;
  }

  /** To the thread with the fewest batches, of those ready (a dead one's replacement may still be loading). */
  private async request(message: RunRequest, transfer: ArrayBuffer[]): Promise<RunReply> {
    // None ready: the first, whose request waits for its thread like any other.
    let pick = 0;
    let fewest = Number.POSITIVE_INFINITY;
    this.channels.forEach((channel, i) => {
      const busy = this.busy[i] as number;
      if (channel.ready && busy < fewest) [pick, fewest] = [i, busy];
    });
    this.busy[pick] = (this.busy[pick] as number) + 1;
    try {
      return await (this.channels[pick] as RestartingThread<RunRequest, RunReply>).request(message, transfer);
    } finally {
      this.busy[pick] = (this.busy[pick] as number) - 1;
    }
  }

  async run(batch: PaddedBatch): Promise<Float32Array> {
    const { size, length, inputIds, attentionMask, realTokens } = batch;
    // Transferred: the batch is the batcher's to drop once it runs, never read again on this side.
    const logits = (await this.request({ kind: "padded", size, length, inputIds, attentionMask, realTokens }, [
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
    const scored = (await this.request({ kind: "packed", ids, starts }, [
      ids.buffer,
      starts.buffer,
    ] as ArrayBuffer[])) as PackedScores;
    if (this.simulated) recordSimulatedBatch(this.simulated, size);
    return scored;
  }

  async close(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.close()));
  }
}
