/**
 * The one way this worker waits and tries again: exponential backoff with jitter, so workers that
 * failed together (a broker restart, a coordinator move) do not retry in lockstep.
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface Backoff {
  /** The first delay. */
  initialMs: number;
  /** No delay is longer. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** The share of each delay that is random, 0–1 (default 0.5: a delay lies in [d/2, d]). */
  jitter?: number;
}

/** The delay before retry number `attempt` (1 for the first retry). */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const { initialMs, maxMs, factor = 2, jitter = 0.5 } = backoff;
  const ceiling = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (1 - jitter * random()));
}

export interface RetryOptions {
  /** Most attempts, the first included. */
  attempts: number;
  backoff: Backoff;
  /** Whether this error is worth another attempt (default: any). */
  retryIf?: (error: unknown) => boolean;
  /** Told before each wait (to log it, or to notice a rebalance). */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** `work` until it succeeds, the error is not worth another try, or the attempts are used up. */
export async function retry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !(options.retryIf?.(error) ?? true)) throw error;
      options.onRetry?.(error, attempt);
      await sleep(backoffDelay(attempt, options.backoff));
    }
  }
}

/** Waits before the next look at something that is not there yet: attempt 1, 2, … of `backoff`. */
export function pause(attempt: number, backoff: Backoff): Promise<void> {
  return sleep(backoffDelay(attempt, backoff));
}
