/** The race that gives a chunk up (AbandonedChunkError) when the drain signal aborts. */
import { AbandonedChunkError } from "../errors/errors.js";

/** The promise's outcome, or AbandonedChunkError as soon as the signal aborts (the work itself goes on, unobserved). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbandonedChunkError());
  return new Promise<T>((resolve, reject) => {
    const abandon = () => reject(new AbandonedChunkError());
    signal.addEventListener("abort", abandon, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abandon);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", abandon);
        reject(error);
      },
    );
  });
}
