/**
 * A partition batch's outputs split into produce requests small enough for the broker. kafkajs
 * sends one record batch per partition per request and never splits it, and a record batch over
 * the broker's `message.max.bytes` (1 MiB by default) is refused with MESSAGE_TOO_LARGE, which no
 * retry cures: one fetch of small posts (thousands of records) made a batch that never committed.
 */
import type { IHeaders, Message, TopicMessages } from "kafkajs";

/** Half the broker's default limit: room for record overheads and a topic configured a little lower. */
export const MAX_REQUEST_BYTES = 512 * 1024;
/** What a record costs besides its key, value and headers (offsets, lengths, timestamps, attributes). */
const RECORD_OVERHEAD_BYTES = 64;

const size = (value: Buffer | string | null | undefined): number =>
  value == null ? 0 : typeof value === "string" ? Buffer.byteLength(value) : value.length;

export function headerBytes(headers: IHeaders | undefined): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers ?? {})) {
    bytes += Buffer.byteLength(name);
    for (const v of Array.isArray(value) ? value : [value]) bytes += size(v as Buffer | string | undefined);
  }
  return bytes;
}

export function messageBytes(message: Message): number {
  return RECORD_OVERHEAD_BYTES + size(message.key) + size(message.value) + headerBytes(message.headers);
}

/**
 * The outputs, in order, as requests of at most `maxBytes` each (a single larger record gets a
 * request of its own). Order per topic is kept, so per-key order is too.
 */
export function requestChunks(
  topicMessages: readonly TopicMessages[],
  maxBytes = MAX_REQUEST_BYTES,
): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let entry: TopicMessages | undefined;
    for (const message of messages) {
      const cost = messageBytes(message);
      if (bytes > 0 && bytes + cost > maxBytes) {
        requests.push(current);
        current = [];
        bytes = 0;
        entry = undefined;
      }
      if (entry === undefined) {
        entry = { topic, messages: [] };
        current.push(entry);
      }
      entry.messages.push(message);
      bytes += cost;
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** The produce requests of one partition batch's outputs: its events, then its dead letters. */
export function outputRequests(
  output: { events: Message[]; deadLetters: Message[] },
  topics: { outputTopic: string; deadLetterTopic: string },
  maxBytes?: number,
): TopicMessages[][] {
  const topicMessages: TopicMessages[] = [];
  if (output.events.length) topicMessages.push({ topic: topics.outputTopic, messages: output.events });
  if (output.deadLetters.length) topicMessages.push({ topic: topics.deadLetterTopic, messages: output.deadLetters });
  return requestChunks(topicMessages, maxBytes);
}
