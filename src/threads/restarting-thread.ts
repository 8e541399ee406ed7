/**
 * A worker thread that is started again when it dies (out of memory, a crash in native code such
 * as ONNX Runtime): the requests in flight on it fail (their callers redo the work: a chunk fails
 * before its commit and is read again), and a new thread loads the same thing from the same
 * `workerData` and serves the next requests. A new thread that cannot load is tried again with
 * backoff, not in a loop; meanwhile `ready` is false and requests fail at once. Only the first
 * start's failure is thrown: a model that cannot load stops start-up.
 */
import { type Backoff, backoffDelay } from "../errors/retry.js";
import { WorkerChannel, type WorkerChannelErrors } from "./worker-channel.js";

export interface RestartOptions {
  /** Told of each thread that died (with its exit code) and of each new one that could not load. */
  log?: ((message: string, fields?: Record<string, unknown>) => void) | undefined;
  /** The wait between attempts to start a new thread that could not load. */
  backoff?: Backoff | undefined;
}

/** A new thread that could not load is tried again after 1 s, 2 s, … at most 30 s. */
export const RESTART_BACKOFF: Backoff = { initialMs: 1000, maxMs: 30_000 };

export class RestartingThread<Q, R> {
  /** The threads started and not closed (tests reach the one to kill through it). */
  static readonly running = new Set<RestartingThread<unknown, unknown>>();

  /** The loaded thread; undefined while it is down. */
  private channel: WorkerChannel<Q, R> | undefined;
  /** A new thread loading in place of one that died. */
  private starting: Promise<WorkerChannel<Q, R> | undefined> | undefined;
  /** Why the last new thread could not load (said with each request refused meanwhile). */
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  /** Told when the running thread is gone (tests wait for it). */
  private readonly onGone = new Set<() => void>();
  /** The next attempt at a new thread, after one could not load. */
  private retry: NodeJS.Timeout | undefined;
  /** Threads started in place of one that died. */
  restarts = 0;
  /** New threads that could not load (each tried after a backoff). */
  failedStarts = 0;
  /** What the first thread said about itself once loaded. */
  readonly info: unknown;

  private constructor(
    first: WorkerChannel<Q, R>,
    private readonly url: URL,
    private readonly workerData: unknown,
    private readonly errors: WorkerChannelErrors,
    private readonly options: RestartOptions,
  ) {
    this.info = first.info;
    this.adopt(first);
  }

  /** Starts the thread and waits until it loaded; rejects with `errors.load` when it cannot. */
  static async start<Q, R>(
    url: URL,
    workerData: unknown,
    errors: WorkerChannelErrors,
    options: RestartOptions = {},
  ): Promise<RestartingThread<Q, R>> {
    const first = await WorkerChannel.start<Q, R>(url, workerData, errors);
    const thread = new RestartingThread(first, url, workerData, errors, options);
    RestartingThread.running.add(thread as RestartingThread<unknown, unknown>);
    return thread;
  }

  /** What the thread is, for messages: "the inference thread". */
  get name(): string {
    return this.errors.name;
  }

  /** A thread is loaded and serves requests (false from its death until a new one loaded). */
  get ready(): boolean {
    return this.channel !== undefined && !this.channel.isBroken;
  }

  /**
   * Sends a request to the thread (its `transfer` buffers are moved) and resolves with the reply.
   * While a new thread loads it waits for it; while none could load it fails at once.
   */
  async request(request: Q, transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.closing) throw this.errors.run(`${this.name} is closed`);
    const channel = this.channel ?? (await this.starting);
    if (!channel) {
      const why = this.failure ? `: a new one could not load (${this.failure.message})` : "";
      throw this.errors.run(`${this.name} is not running${why}`, { retriable: true });
    }
    return channel.request(request, transfer);
  }

  /**
   * Tests only: the running thread (once loaded, should a new one be loading) exits with `code` as
   * a crash would, at once or when the next request arrives (`midRequest`); resolves once it is
   * gone (a new one is then loading).
   */
  async exitForTest(code = 70, midRequest = false): Promise<void> {
    const channel = this.channel ?? (await this.starting);
    if (!channel) return;
    const gone = new Promise<void>((resolve) => this.onGone.add(resolve));
    channel.exitForTest(code, midRequest);
    await gone;
  }

  /** Lets the thread finish what it has and exit; no new one is started after this. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      RestartingThread.running.delete(this as RestartingThread<unknown, unknown>);
      clearTimeout(this.retry);
      await this.starting;
      await this.channel?.close();
    })();
    return this.closing;
  }

  private adopt(channel: WorkerChannel<Q, R>): void {
    this.channel = channel;
    channel.whenGone((error, exitCode) => {
      if (this.channel !== channel || this.closing) return;
      this.channel = undefined;
      this.options.log?.(`${this.name} stopped; starting another in its place`, { exitCode, reason: error.message });
      this.startAgain(1);
      for (const told of this.onGone) told();
      this.onGone.clear();
    });
  }

  /** Attempt `attempt` at a new thread; should it not load, the next after a backoff. */
  private startAgain(attempt: number): void {
    if (this.closing) return;
    this.starting = WorkerChannel.start<Q, R>(this.url, this.workerData, this.errors).then(
      async (channel) => {
        this.starting = undefined;
        if (this.closing) {
          await channel.close();
          return undefined;
        }
        this.restarts++;
        this.failure = undefined;
        this.adopt(channel);
        if (attempt > 1) this.options.log?.(`${this.name} runs again`, { attempts: attempt });
        return channel;
      },
      (error: Error) => {
        this.starting = undefined;
        if (this.closing) return undefined;
        this.failedStarts++;
        // Said once per distinct reason: a model that stays unloadable does not flood the logs.
        if (error.message !== this.failure?.message) {
          this.options.log?.(`${this.name} could not be started again; trying again with backoff`, {
            reason: error.message,
          });
        }
        this.failure = error;
        const delayMs = backoffDelay(attempt, this.options.backoff ?? RESTART_BACKOFF);
        this.retry = setTimeout(() => this.startAgain(attempt + 1), delayMs).unref();
        return undefined;
      },
    );
  }
}
