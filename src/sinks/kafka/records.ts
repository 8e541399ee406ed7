/**
 * The records the Kafka sinks write. An event is keyed by its input's key, so per-key order holds
 * across the topics, and carries the input's trace context. A dead letter is the original record
 * unchanged (key, value, headers) plus headers that say what went wrong and where it came from.
 */
import type { IHeaders, Message } from "kafkajs";
import type { DeadLetter } from "../../events/dead-letter.js";
import type { SentimentEvent } from "../../events/sentiment-event.js";

/** Header names, written once (BullMQ-style constants). */
export const HEADERS = {
  schema: "sw-schema",
  errorCode: "sw-error-code",
  errorMessage: "sw-error-message",
  sourceTopic: "sw-source-topic",
  sourcePartition: "sw-source-partition",
  sourceOffset: "sw-source-offset",
  sourceTimestamp: "sw-source-timestamp",
  workerVersion: "sw-worker-version",
} as const;

/** W3C trace context headers carried from input to output. */
const TRACE_HEADERS = ["traceparent", "tracestate"] as const;

export interface OriginalRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders | undefined;
}

export function eventMessage(event: SentimentEvent, original: OriginalRecord): Message {
  const headers: IHeaders = { [HEADERS.schema]: event.schema, "content-type": "application/json" };
  for (const name of TRACE_HEADERS) {
    const value = original.headers?.[name];
    if (value !== undefined) headers[name] = value;
  }
  return { key: original.key, value: JSON.stringify(event), headers };
}

export function deadLetterMessage(letter: DeadLetter, original: OriginalRecord, workerVersion: string): Message {
  return {
    key: original.key,
    value: original.value,
    headers: {
      ...original.headers,
      [HEADERS.errorCode]: letter.code,
      [HEADERS.errorMessage]: letter.message,
      [HEADERS.sourceTopic]: letter.source.topic,
      [HEADERS.sourcePartition]: String(letter.source.partition),
      [HEADERS.sourceOffset]: letter.source.offset,
      [HEADERS.sourceTimestamp]: letter.source.timestamp,
      [HEADERS.workerVersion]: workerVersion,
    },
  };
}
