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
import { Worker } from "node:worker_threads";
import { InferenceError, ModelError } from "../errors/errors.js";
import type { InferenceBackend, RuntimeOptions } from "./inference-backend.js";
import type { PaddedBatch } from "./padded-batch.js";

export interface ThreadInit {
  onnxPath: string;
  numLabels: number;
  runtime: RuntimeOptions;
}

export type ThreadRequest =
  | {
      type: "run";
      id: number;
      size: number;
      length: number;
      inputIds: BigInt64Array;
      attentionMask: BigInt64Array;
      realTokens: number;
    }
  | { type: "close" };

export type ThreadReply =
  | { type: "loaded" }
  | { type: "load-failed"; message: string }
  | { type: "result"; id: number; logits: Float32Array }
  | { type: "failed"; id: number; message: string }
  | { type: "closed" };

interface Pending {
  resolve(logits: Float32Array): void;
  reject(error: unknown): void;
}

export class ThreadedOnnxBackend implements InferenceBackend {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Set once the thread is gone or broken: every later run fails with it. */
  private broken: Error | undefined;
  private closing: Promise<void> | undefined;
  private onClosed: () => void = () => {};

  /** Settles once the model is loaded in the thread (or cannot be). */
  private readonly loaded: Promise<void>;
  private onLoaded: (error?: Error) => void = () => {};

  private constructor(
    private readonly thread: Worker,
    readonly numLabels: number,
  ) {
    this.loaded = new Promise<void>((resolve, reject) => {
      this.onLoaded = (error) => (error ? reject(error) : resolve());
    });
    thread.on("message", (reply: ThreadReply) => this.receive(reply));
    thread.on("error", (error) => this.breakDown(new InferenceError("the inference thread failed", { cause: error })));
    thread.on("exit", (code) => {
      this.breakDown(new InferenceError(`the inference thread exited (code ${code})`));
      this.onClosed();
    });
  }

  /** Starts the thread and loads the model there; rejects with the thread's ModelError when it cannot. */
  static async load(onnxPath: string, numLabels: number, runtime: RuntimeOptions): Promise<ThreadedOnnxBackend> {
    const thread = new Worker(new URL("./onnx-thread-main.js", import.meta.url), {
      workerData: { onnxPath, numLabels, runtime: { ...runtime } } satisfies ThreadInit,
    });
    const backend = new ThreadedOnnxBackend(thread, numLabels);
    try {
      await backend.loaded;
    } catch (error) {
      await thread.terminate();
      throw error;
    }
    // Idle, the thread must not keep the process alive; a run in flight refs it (see `run`).
    thread.unref();
    return backend;
  }

  run(batch: PaddedBatch): Promise<Float32Array> {
    if (this.closing) return Promise.reject(new InferenceError("the inference backend is closed"));
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    const request: ThreadRequest = {
      type: "run",
      id,
      size: batch.size,
      length: batch.length,
      inputIds: batch.inputIds,
      attentionMask: batch.attentionMask,
      realTokens: batch.realTokens,
    };
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.thread.ref();
      // Transferred: the batch is the batcher's to drop once it runs, never read again on this side.
      const transfer = [batch.inputIds.buffer, batch.attentionMask.buffer] as ArrayBuffer[];
      this.thread.postMessage(request, transfer);
    });
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        this.onClosed = resolve;
      });
      if (this.broken) this.onClosed();
      else {
        this.thread.ref();
        this.thread.postMessage({ type: "close" } satisfies ThreadRequest);
      }
    }
    return this.closing;
  }

  private receive(reply: ThreadReply): void {
    switch (reply.type) {
      case "loaded":
        this.onLoaded();
        break;
      case "load-failed":
        this.onLoaded(new ModelError(reply.message));
        break;
      case "closed":
        void this.thread.terminate();
        break;
      case "result":
      case "failed": {
        const pending = this.pending.get(reply.id);
        if (!pending) break;
        this.pending.delete(reply.id);
        if (this.pending.size === 0) this.thread.unref();
        if (reply.type === "result") pending.resolve(reply.logits);
        else pending.reject(new InferenceError(reply.message));
      }
    }
  }

  private breakDown(error: Error): void {
    this.onLoaded(new ModelError(`the inference thread stopped while loading the model: ${error.message}`));
    this.broken ??= error;
    for (const { reject } of this.pending.values()) reject(this.broken);
    this.pending.clear();
  }
}
