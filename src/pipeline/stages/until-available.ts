/**
 * A store a chunk needs (Redis for its claims, the schema registry) that does not answer is not the
 * records' fault: the chunk waits (readiness false; the source's heartbeats go on) and asks again,
 * until it answers or the chunk must be given up (rebalance, seek, stop).
 */
import { pause } from "../../errors/retry.js";

export interface WaitContext<E extends Error = Error> {
  /** The chunk is to be given up: stop waiting. */
  givenUp(): boolean;
  setReady?: ((ready: boolean) => void) | undefined;
  /** Told once per wait, with why. */
  onUnavailable?: ((error: E) => void) | undefined;
}

export interface Unavailability<E extends Error> {
  /** The error that says the store does not answer; any other is thrown. */
  is(error: unknown): error is E;
  initialMs: number;
  maxMs: number;
}

/** `ask` until the store answers (readiness false meanwhile); undefined when the chunk was given up. */
export async function untilAvailable<T, E extends Error>(
  ask: () => Promise<T>,
  unavailable: Unavailability<E>,
  context: WaitContext<E>,
): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await ask();
      context.setReady?.(true);
      return answer;
    } catch (error) {
      if (!unavailable.is(error)) throw error;
      if (attempt === 1) context.onUnavailable?.(error);
      context.setReady?.(false);
      if (context.givenUp()) return undefined;
      await pause(attempt, { initialMs: unavailable.initialMs, maxMs: unavailable.maxMs });
    }
  }
}
