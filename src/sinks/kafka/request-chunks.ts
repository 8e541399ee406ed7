/**
 * A partition chunk's outputs split into produce requests small enough for the broker. The
 * client sends one record batch per partition per request and never splits it, and a record batch over
 * the broker's `message.max.bytes` (1 MiB by default) is refused with MESSAGE_TOO_LARGE, which no
 * retry cures: one fetch of small posts (thousands of records) made a batch that never committed.
 */
import type { ProducedRecord, RecordHeaders, TopicRecords } from "../../kafka/client.js";

/** Half the broker's default limit: room for record overheads and a topic configured a little lower. */
export const MAX_REQUEST_BYTES = 512 * 1024;
/** What a record costs besides its key, value and headers (offsets, lengths, timestamps, attributes). */
const RECORD_OVERHEAD_BYTES = 64;

const size = (value: Buffer | string | null | undefined): number =>
  value == null ? 0 : typeof value === "string" ? Buffer.byteLength(value) : value.length;

export function headerBytes(headers: RecordHeaders | undefined): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers ?? {})) {
    bytes += Buffer.byteLength(name);
    for (const v of Array.isArray(value) ? value : [value]) bytes += size(v as Buffer | string | undefined);
  }
  return bytes;
}

export function messageBytes(message: ProducedRecord): number {
  return RECORD_OVERHEAD_BYTES + size(message.key) + size(message.value) + headerBytes(message.headers);
}

/** A produce request and the bytes of its records as the bound counts them. */
export interface SizedRequest {
  records: TopicRecords[];
  bytes: number;
}

/**
 * The outputs, in order, as requests of at most `maxBytes` each (a single larger record gets a
 * request of its own). Order per topic is kept, so per-key order is too.
 */
export function requestChunks(topicMessages: readonly TopicRecords[], maxBytes = MAX_REQUEST_BYTES): TopicRecords[][] {
  return sizedRequests(topicMessages, maxBytes).map((r) => r.records);
}

/** requestChunks with each request's size, counted once. */
function sizedRequests(topicMessages: readonly TopicRecords[], maxBytes = MAX_REQUEST_BYTES): SizedRequest[] {
  const requests: SizedRequest[] = [];
  let current: SizedRequest = { records: [], bytes: 0 };
  for (const { topic, messages } of topicMessages) {
    let entry: TopicRecords | undefined;
    for (const message of messages) {
      const cost = messageBytes(message);
      if (current.bytes > 0 && current.bytes + cost > maxBytes) {
        requests.push(current);
        current = { records: [], bytes: 0 };
        entry = undefined;
      }
      if (entry === undefined) {
        entry = { topic, messages: [] };
        current.records.push(entry);
      }
      entry.messages.push(message);
      current.bytes += cost;
    }
  }
  if (current.records.length > 0) requests.push(current);
  return requests;
}

/** The produce requests of one partition chunk's outputs: its events, then its dead letters. */
export function outputRequests(
  output: { events: ProducedRecord[]; deadLetters: ProducedRecord[] },
  topics: { outputTopic: string; deadLetterTopic: string },
  maxBytes?: number,
): SizedRequest[] {
  const topicMessages: TopicRecords[] = [];
  if (output.events.length) topicMessages.push({ topic: topics.outputTopic, messages: output.events });
  if (output.deadLetters.length) topicMessages.push({ topic: topics.deadLetterTopic, messages: output.deadLetters });
  return sizedRequests(topicMessages, maxBytes);
}
