/** A chunk given up before its commit, and the race that gives it up when the drain signal aborts. */

/** The chunk became obsolete (rebalance, seek, drain timeout) before its commit. */
export class AbandonedBatch extends Error {}

/** The promise's outcome, or AbandonedBatch as soon as the signal aborts (the work itself goes on, unobserved). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbandonedBatch());
  return new Promise<T>((resolve, reject) => {
    const abandon = () => reject(new AbandonedBatch());
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
