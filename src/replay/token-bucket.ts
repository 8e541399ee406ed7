/**
 * `--rate`: a token bucket shared by every partition of a replay. It fills at `rate` tokens a
 * second up to one second's worth, so a replay may burst that much after a pause and averages
 * `rate` records a second over any longer time. Waiting keeps the consumer in its group.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Admission } from "../consumers/replay-source.js";

export class TokenBucket implements Admission {
  private tokens: number;
  private last = performance.now();
  private readonly capacity: number;

  constructor(
    private readonly rate: number,
    private readonly keepAliveMs = 1_000,
  ) {
    // At least one whole record can always be admitted, however low the rate.
    this.capacity = Math.max(1, rate);
    this.tokens = this.capacity;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  async admit(wanted: number, keepAlive: () => Promise<void>, cancelled: () => boolean): Promise<number> {
    let lastKeepAlive = performance.now();
    for (;;) {
      if (cancelled()) return 0;
      this.refill();
      if (this.tokens >= 1) {
        const granted = Math.min(wanted, Math.floor(this.tokens));
        this.tokens -= granted;
        return granted;
      }
      const waitMs = Math.ceil(((1 - this.tokens) / this.rate) * 1000);
      await sleep(Math.min(waitMs, this.keepAliveMs));
      if (performance.now() - lastKeepAlive >= this.keepAliveMs) {
        await keepAlive().catch(() => {});
        lastKeepAlive = performance.now();
      }
    }
  }
}
