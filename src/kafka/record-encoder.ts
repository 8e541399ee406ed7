/**
 * kafkajs 2.2.4's record encoder (`protocol/recordBatch/record/v0/index.js`) with one fix: a
 * header whose value is null is written as a null value. Kafka allows one (the Java client sends
 * `new RecordHeader(name, null)`) and kafkajs reads one as `null`, but its encoder sizes every value
 * with `Buffer.byteLength`, which throws on null: the dead letter of such a record, or the event of
 * a record with a null `traceparent`, could never be written, and the transaction failed again on
 * every retry, holding the partition for good. Same inputs and output as kafkajs's otherwise, so it
 * replaces it (see kafkajs.ts).
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** kafkajs's protocol encoder, the methods used here. */
interface Encoder {
  writeVarInt(value: number): Encoder;
  writeInt8(value: number): Encoder;
  writeVarLong(value: unknown): Encoder;
  writeVarIntBytes(value: unknown): Encoder;
  writeVarIntArray(values: Encoder[]): Encoder;
}
interface EncoderClass {
  new (): Encoder;
  sizeOfVarInt(value: number): number;
  sizeOfVarLong(value: unknown): number;
  sizeOfVarIntBytes(value: unknown): number;
}

const KafkaEncoder = require("kafkajs/src/protocol/encoder") as EncoderClass;
const encodeHeader = require("kafkajs/src/protocol/recordBatch/header/v0") as (header: Header) => Encoder;

type HeaderValue = Buffer | string | null | undefined;
interface Header {
  key: string;
  value: HeaderValue;
}

export interface RecordToEncode {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, HeaderValue | HeaderValue[]>;
}

function sizeOfHeaders(headers: readonly Header[]): number {
  let size = KafkaEncoder.sizeOfVarInt(headers.length);
  for (const { key, value } of headers) {
    const keySize = Buffer.byteLength(key);
    // sizeOfVarIntBytes counts a null (or undefined) value as the -1 the header encoder writes.
    size += KafkaEncoder.sizeOfVarInt(keySize) + keySize + KafkaEncoder.sizeOfVarIntBytes(value);
  }
  return size;
}

export function encodeRecord({
  offsetDelta = 0,
  timestampDelta = 0,
  key,
  value,
  headers = {},
}: RecordToEncode): Encoder {
  const headersArray = Object.keys(headers).flatMap((name): Header[] => {
    const values = headers[name];
    return Array.isArray(values) ? values.map((v) => ({ key: name, value: v })) : [{ key: name, value: values }];
  });
  const sizeOfBody =
    1 + // the record's attributes, always one byte
    KafkaEncoder.sizeOfVarLong(timestampDelta) +
    KafkaEncoder.sizeOfVarInt(offsetDelta) +
    KafkaEncoder.sizeOfVarIntBytes(key) +
    KafkaEncoder.sizeOfVarIntBytes(value) +
    sizeOfHeaders(headersArray);
  return new KafkaEncoder()
    .writeVarInt(sizeOfBody)
    .writeInt8(0) // no record attributes are used
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(headersArray.map(encodeHeader));
}
