/**
 * Hands results to `write` in submission order, each as soon as it and all before it are done,
 * with at most `window` outstanding: output order follows input order, a live stream is not held
 * back, and memory stays bounded.
 */
export class InOrder<T> {
  private readonly pending: Promise<T>[] = [];
  private writer: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private wakeSubmitter: (() => void) | undefined;

  constructor(
    private readonly write: (value: T) => void | Promise<void>,
    private readonly window: number,
  ) {}

  /** Queues a result; waits while `window` results are outstanding. Rejects once a result or write failed. */
  async push(result: Promise<T>): Promise<void> {
    this.throwIfFailed();
    // Rejections surface through the writer, in order; until then they are not "unhandled".
    result.catch(() => {});
    this.pending.push(result);
    this.writer ??= this.drain();
    while (this.pending.length > this.window && !this.failure) {
      await new Promise<void>((resolve) => {
        this.wakeSubmitter = resolve;
      });
    }
    this.throwIfFailed();
  }

  /** Waits until everything queued is written; rejects with the first failure. */
  async flush(): Promise<void> {
    while (this.writer) await this.writer;
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const value = await (this.pending[0] as Promise<T>);
        this.pending.shift();
        this.wake();
        await this.write(value);
      }
    } catch (error) {
      this.failure = { error };
      this.wake();
    } finally {
      this.writer = undefined;
    }
  }

  private wake(): void {
    this.wakeSubmitter?.();
    this.wakeSubmitter = undefined;
  }
}
