/**
 * Requests to a worker thread and their replies, for the threads that take work off the event loop
 * (the ONNX Runtime session, the tokenizer, language identification). The thread loads what it needs first and says so; each
 * request then gets exactly one reply, in order. A thread that fails or exits fails every request in
 * flight and every later one with the same error, retriable (`restarting-thread.ts` starts a new
 * one). Idle, a thread does not keep the process alive.
 *
 * The thread's side is `serveRequests` (`worker-serve.ts`).
 */
import { Worker } from "node:worker_threads";
import { errorMessageWithCauses } from "../errors/error-message.js";

/** What crosses from the thread to this side. */
export type WorkerReply<R> =
  | { type: "loaded"; info?: unknown }
  | { type: "load-failed"; message: string }
  | { type: "result"; id: number; result: R }
  | { type: "failed"; id: number; message: string }
  | { type: "closed" };

/** What crosses from this side to the thread. */
export type WorkerRequest<Q> =
  | { type: "run"; id: number; request: Q }
  | { type: "close" }
  /**
   * Tests only: the thread exits with `code`, as a crash would: at once (between two requests), or
   * `midRequest`, on the arrival of the next request (which is then in flight).
   */
  | { type: "exit"; code: number; midRequest?: boolean };

export interface WorkerChannelErrors {
  /** The thread could not load (its message, or a crash while loading). */
  load(message: string): Error;
  /**
   * A request failed in the thread, or the thread is gone: then `retriable` (a new thread serves the
   * request when it is made again; the Kafka consumer restarts and reads the chunk again).
   */
  run(message: string, options?: { cause?: unknown; retriable?: boolean }): Error;
  /** What the thread is, for messages: "the inference thread". */
  name: string;
}

interface Pending<R> {
  resolve(result: R): void;
  reject(error: unknown): void;
}

/** A thread's short name from how messages name it: "the inference thread" → "inference". */
export function threadLabel(name: string): string {
  return name.replace(/^(the|a|an) /, "").replace(/ thread$/, "");
}

/** Threads still loading: settled (either way) once each loaded or could not. */
const loading = new Set<Promise<void>>();

/**
 * Settles once no thread is loading. `process.exit` while a thread loads ONNX Runtime's module or
 * model tears the thread's environment down under the native loader, which then throws where
 * nothing can catch it and the process aborts (SIGABRT instead of exit 0): a signal during
 * start-up waits for this first.
 */
export async function threadsLoaded(): Promise<void> {
  while (loading.size > 0) await Promise.all(loading);
}

export class WorkerChannel<Q, R> {
  private readonly pending = new Map<number, Pending<R>>();
  private nextId = 0;
  /** Set once the thread is gone or broken: every later request fails with it. */
  private broken: Error | undefined;
  private closing: Promise<void> | undefined;
  private onClosed: () => void = () => {};
  private onLoaded: (error?: Error) => void = () => {};
  private onGone: ((error: Error, exitCode: number | undefined) => void) | undefined;
  /** What the thread said about itself once loaded (e.g. the execution providers it runs on). */
  info: unknown;

  private constructor(
    private readonly thread: Worker,
    private readonly errors: WorkerChannelErrors,
    /** Settles once the thread loaded what it needs (or cannot). */
    private readonly loaded: Promise<void>,
  ) {}

  /** Starts the thread (`url`, with `workerData`) and waits until it loaded; rejects with `errors.load` when it cannot. */
  static async start<Q, R>(url: URL, workerData: unknown, errors: WorkerChannelErrors): Promise<WorkerChannel<Q, R>> {
    // Named for `top -H` and /proc (the e2e bench's CPU by thread): "inference", "processing", …
    const thread = new Worker(url, { workerData, name: threadLabel(errors.name) });
    let onLoaded: (error?: Error) => void = () => {};
    const loaded = new Promise<void>((resolve, reject) => {
      onLoaded = (error) => (error ? reject(error) : resolve());
    });
    const settled = loaded.then(
      () => undefined,
      () => undefined,
    );
    loading.add(settled);
    void settled.then(() => loading.delete(settled));
    const channel = new WorkerChannel<Q, R>(thread, errors, loaded);
    channel.onLoaded = onLoaded;
    thread.on("message", (reply: WorkerReply<R>) => channel.receive(reply));
    // Its message, not the error as cause: kafkajs judges a failure by its deepest cause.
    thread.on("error", (error) =>
      channel.breakDown(errors.run(`${errors.name} failed: ${errorMessageWithCauses(error)}`, { retriable: true })),
    );
    thread.on("exit", (code) => {
      channel.breakDown(errors.run(`${errors.name} exited (code ${code})`, { retriable: true }));
      // An "error" comes before its "exit": told once, here, with the first error and the code.
      if (!channel.closing && channel.broken) channel.onGone?.(channel.broken, code);
      channel.onClosed();
    });
    try {
      await channel.loaded;
    } catch (error) {
      await thread.terminate();
      throw error;
    }
    // Idle, the thread must not keep the process alive; a request in flight refs it.
    thread.unref();
    return channel;
  }

  /** The thread is gone (it failed or exited unasked): every request fails; a new one is needed. */
  get isBroken(): boolean {
    return this.broken !== undefined && this.closing === undefined;
  }

  /**
   * `listener` is told once, when the loaded thread is gone unasked (it failed, or exited without
   * `close()`): with why, and its exit code when it exited.
   */
  whenGone(listener: (error: Error, exitCode: number | undefined) => void): void {
    this.onGone = listener;
  }

  /**
   * Tests only: the thread exits with `code` as soon as it is between two requests, or when the
   * next request arrives (`midRequest`), as a crash would (the requests waiting for it fail). Not
   * `terminate()`: that stops the thread inside a native call too, and ONNX Runtime then aborts the
   * whole process.
   */
  exitForTest(code: number, midRequest = false): void {
    this.thread.ref(); // the caller waits for its exit
    this.thread.postMessage({ type: "exit", code, midRequest } satisfies WorkerRequest<Q>);
  }

  /** Sends a request (its `transfer` buffers are moved, never read on this side again) and resolves with the reply. */
  request(request: Q, transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.closing) return Promise.reject(this.errors.run(`${this.errors.name} is closed`));
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.thread.ref();
      this.thread.postMessage({ type: "run", id, request } satisfies WorkerRequest<Q>, transfer);
    });
  }

  /** Lets the thread finish what it has, close what it loaded, and exit. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        this.onClosed = resolve;
      });
      if (this.broken) this.onClosed();
      else {
        this.thread.ref();
        this.thread.postMessage({ type: "close" } satisfies WorkerRequest<Q>);
      }
    }
    return this.closing;
  }

  private receive(reply: WorkerReply<R>): void {
    switch (reply.type) {
      case "loaded":
        this.info = reply.info;
        this.onLoaded();
        break;
      case "load-failed":
        this.onLoaded(this.errors.load(reply.message));
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
        if (reply.type === "result") pending.resolve(reply.result);
        else pending.reject(this.errors.run(reply.message));
      }
    }
  }

  private breakDown(error: Error): void {
    this.onLoaded(this.errors.load(`${this.errors.name} stopped while loading: ${error.message}`));
    this.broken ??= error;
    for (const { reject } of this.pending.values()) reject(this.broken);
    this.pending.clear();
  }
}
