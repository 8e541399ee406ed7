/**
 * The records the Kafka sinks write. An event is keyed by its input's key, so per-key order holds
 * across the topics, and carries the input's trace context. A dead letter is the original record
 * unchanged (key, value, headers) plus headers that say what went wrong and where it came from.
 */

import type { DeadLetter } from "../../events/dead-letter.js";
import { SENTIMENT_EVENT_SCHEMA, type SentimentEvent } from "../../events/sentiment-event.js";
import { serializeEvent } from "../../events/serialize-event.js";
import type { ProducedRecord, RecordHeaders } from "../../kafka/client.js";
import { headerBytes, messageBytes } from "./request-chunks.js";

/** Header names, written once (BullMQ-style constants). */
export const HEADERS = {
  schema: "sw-schema",
  errorCode: "sw-error-code",
  errorMessage: "sw-error-message",
  sourceTopic: "sw-source-topic",
  sourcePartition: "sw-source-partition",
  sourceOffset: "sw-source-offset",
  sourceTimestamp: "sw-source-timestamp",
  sourceTimestampMs: "sw-source-timestamp-ms",
  workerVersion: "sw-worker-version",
  /** What of the original record was cut to fit the dead-letter topic: `value`, `key`, `headers`, comma-separated. */
  truncated: "sw-truncated",
  /** The original value's and key's sizes in bytes, when either was cut. */
  originalValueBytes: "sw-original-value-bytes",
  originalKeyBytes: "sw-original-key-bytes",
  /** How many headers the original had, when they were dropped for being too many (TOO_MANY_HEADERS). */
  originalHeaderCount: "sw-original-header-count",
} as const;

/** What a producer's own `sw-*` header is renamed to on a dead letter: `original-` and its name. */
export const PRODUCER_HEADER_PREFIX = "original-";

/**
 * Names in our `sw-` space as a reader comparing without case sees them: `SW-Error-Code` too, and
 * `ſw-` (U+017F folds to `s`, and Java's equalsIgnoreCase matches it).
 */
const OUR_NAMES = /^sw-/iu;

/** The values of a header, a name that repeats included (the client gives those as an array). */
const valuesOf = (value: RecordHeaders[string]) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * A record's headers for its dead letter: each of the producer's `sw-*` headers (in any case) is
 * renamed `original-sw-*` and moved after the others, so every `sw-*` header of a dead letter is
 * the worker's own and a producer cannot pass off an error code, a source or a cut, while its
 * bytes are still there. A renamed header that meets a producer's header of that name joins it:
 * the name repeats, the producer's value first. Headers without `sw-` are returned as they are.
 */
export function producerHeaders(headers: RecordHeaders | undefined): RecordHeaders | undefined {
  if (!headers || !Object.keys(headers).some((name) => OUR_NAMES.test(name))) return headers;
  const entries = Object.entries(headers);
  // fromEntries defines keys, so a header named `__proto__` stays a header.
  const renamed: RecordHeaders = Object.fromEntries(entries.filter(([name]) => !OUR_NAMES.test(name)));
  for (const [name, value] of entries) {
    if (!OUR_NAMES.test(name)) continue;
    const to = `${PRODUCER_HEADER_PREFIX}${name}`;
    const theirs = Object.hasOwn(renamed, to) ? renamed[to] : undefined;
    renamed[to] = theirs === undefined ? value : [...valuesOf(theirs), ...valuesOf(value)];
  }
  return renamed;
}

/** W3C trace context headers carried from input to output. */
const TRACE_HEADERS = ["traceparent", "tracestate"] as const;

export interface OriginalRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeaders | undefined;
  /** How many headers it had (`headers` may hold fewer, see ConsumedRecord). */
  headerCount?: number | undefined;
}

export function eventMessage(event: SentimentEvent, original: OriginalRecord): ProducedRecord {
  return eventRecord(serializeEvent(event), original, event.schema);
}

/** The record of an event already serialised (on a processing thread): the original's key and trace headers. */
export function eventRecord(
  value: Buffer | string,
  original: OriginalRecord,
  schema: SentimentEvent["schema"] = SENTIMENT_EVENT_SCHEMA,
): ProducedRecord {
  const headers: RecordHeaders = { [HEADERS.schema]: schema, "content-type": "application/json" };
  for (const name of TRACE_HEADERS) {
    const value = original.headers?.[name];
    if (value !== undefined) headers[name] = value;
  }
  return { key: original.key, value, headers };
}

/**
 * The dead letter of a record: the original unchanged when it fits `maxBytes` (the dead-letter
 * topic's `max.message.bytes`, less a margin), else cut to fit, and the cut said in headers, since
 * a dead letter the broker refuses would stop its partition for good: the original headers go
 * first, then the key and the value are shortened. The original's own `sw-*` headers are renamed
 * (`producerHeaders`): those of a dead letter are ours alone. A record with too many headers goes
 * without any of them: thousands would make its dead letter as costly to write and read as the record.
 */
export function deadLetterMessage(
  letter: DeadLetter,
  original: OriginalRecord,
  workerVersion: string,
  maxBytes = Number.POSITIVE_INFINITY,
): ProducedRecord {
  const ours: RecordHeaders = {
    [HEADERS.errorCode]: letter.code,
    [HEADERS.errorMessage]: letter.message,
    [HEADERS.sourceTopic]: letter.source.topic,
    [HEADERS.sourcePartition]: String(letter.source.partition),
    [HEADERS.sourceOffset]: letter.source.offset,
    [HEADERS.sourceTimestamp]: letter.source.timestamp,
    [HEADERS.sourceTimestampMs]: letter.source.timestampMs,
    [HEADERS.workerVersion]: workerVersion,
  };
  const dropHeaders = letter.code === "TOO_MANY_HEADERS";
  if (dropHeaders) {
    ours[HEADERS.originalHeaderCount] = String(original.headerCount ?? headerCount(original.headers));
    ours[HEADERS.truncated] = "headers";
  }
  const kept = dropHeaders ? undefined : producerHeaders(original.headers);
  const whole: ProducedRecord = { key: original.key, value: original.value, headers: { ...kept, ...ours } };
  if (messageBytes(whole) <= maxBytes) return whole;

  const cut: string[] = dropHeaders ? ["headers"] : [];
  let headers: RecordHeaders = { ...ours };
  // Room for the bookkeeping headers added below.
  let room = maxBytes - messageBytes({ key: null, value: null, headers }) - 128;
  const originalHeaders = headerBytes(kept);
  if (originalHeaders > 0) {
    if (originalHeaders <= room / 4) {
      // Spread, not Object.assign: a header named `__proto__` stays a header.
      headers = { ...kept, ...ours };
      room -= originalHeaders;
    } else {
      cut.push("headers");
    }
  }
  let key = original.key;
  if (key && key.length > room / 4) {
    headers[HEADERS.originalKeyBytes] = String(key.length);
    key = key.subarray(0, Math.max(0, Math.floor(room / 4)));
    cut.push("key");
  }
  room -= key?.length ?? 0;
  let value = original.value;
  if (value && value.length > room) {
    headers[HEADERS.originalValueBytes] = String(value.length);
    value = value.subarray(0, Math.max(0, room));
    cut.push("value");
  }
  if (cut.length > 0) headers[HEADERS.truncated] = cut.join(",");
  return { key, value, headers };
}

/** Headers in a record's headers object (a name given several times counts each time). */
function headerCount(headers: RecordHeaders | undefined): number {
  let count = 0;
  for (const value of Object.values(headers ?? {})) count += Array.isArray(value) ? value.length : 1;
  return count;
}
