/**
 * kafkajs 2.2.4's `RequestQueue#scheduleCheckPendingRequests` (`network/requestQueue/index.js`)
 * with one change: the delay setTimeout gets is never negative.
 *
 * kafkajs schedules its next look at the pending requests `throttledUntil - Date.now()` ms ahead.
 * Before a broker ever throttled the connection, `throttledUntil` is -1, so with nothing pending it
 * hands setTimeout about minus the epoch in milliseconds. Node has always run such a timer after
 * 1 ms; since Node 23 it also writes a `TimeoutNegativeWarning` to stderr, once per process, on the
 * first request of every worker: a line that is not JSON among the worker's JSON logs
 * (`test/unit/kafka-fixes.test.ts` shows it on kafkajs's own). Ours passes the delay Node would
 * have used (at least 1 ms), so the schedule is the same and nothing is printed. Same `this` as
 * kafkajs's method, so it replaces it on the class's prototype (see kafkajs.ts).
 */

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL, a constant of the same module (ms). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

/** What the method reads and writes of kafkajs's RequestQueue. */
export interface ThrottledRequestQueue {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
}

export function scheduleCheckPendingRequests(this: ThrottledRequestQueue): void {
  // Something already scheduled: kafkajs fixes up the timeout, if needed, when it fires.
  if (this.throttleCheckTimeoutId) return;
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.pending.length > 0 && scheduleAt <= 0) scheduleAt = CHECK_PENDING_REQUESTS_INTERVAL;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    Math.max(scheduleAt, 1),
  );
}
