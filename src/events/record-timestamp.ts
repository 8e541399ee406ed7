/**
 * A record's time as the events and dead letters carry it. Kafka gives milliseconds since the epoch
 * as a decimal string, and a producer may set any 64-bit value there, far outside what a Date can
 * hold (±8.64e15 ms): the raw value is kept as a decimal string, and the ISO form is only given when
 * it exists, so a strange timestamp is reported instead of crashing the worker.
 */

export interface RecordTime {
  /** ISO 8601; "" when there is no timestamp or a Date cannot hold it. */
  timestamp: string;
  /** Milliseconds since the epoch, a decimal integer string; "-1" when missing or not an integer. */
  timestampMs: string;
}

/** Kafka's "no timestamp" (message format v0, or a producer that sent none). */
const NO_TIMESTAMP = "-1";
const MISSING: RecordTime = { timestamp: "", timestampMs: NO_TIMESTAMP };
const DECIMAL_INTEGER = /^-?[0-9]+$/;

/** `raw` as a canonical decimal integer string (no leading zeros, no "-0"), or undefined. */
function decimalMs(raw: unknown): string | undefined {
  if (typeof raw === "number") {
    if (!Number.isInteger(raw)) return undefined; // NaN, ±Infinity, fractions: not a Kafka timestamp
    // A double beyond 2^53 still has one exact integer value; String() would print an exponent.
    return Number.isSafeInteger(raw) ? String(raw) : BigInt(raw).toString();
  }
  if (typeof raw === "string" && DECIMAL_INTEGER.test(raw)) {
    const negative = raw.startsWith("-");
    const digits = (negative ? raw.slice(1) : raw).replace(/^0+(?=[0-9])/, "");
    return negative && digits !== "0" ? `-${digits}` : digits;
  }
  return undefined;
}

/** The record time of a Kafka timestamp (ms since the epoch). Never throws. */
export function recordTimestamp(raw: string | number | undefined | null): RecordTime {
  const timestampMs = decimalMs(raw);
  if (timestampMs === undefined || timestampMs === NO_TIMESTAMP) return { ...MISSING };
  // Within ±8.64e15 every integer is exact as a double (below 2^53); beyond it the Date is invalid.
  const date = new Date(timestampMs.length <= 17 ? Number(timestampMs) : Number.NaN);
  return { timestamp: Number.isNaN(date.getTime()) ? "" : date.toISOString(), timestampMs };
}
