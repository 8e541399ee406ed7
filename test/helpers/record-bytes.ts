/**
 * Kafka records and record batches as the broker sends them (magic 2), written with kafkajs's own
 * encoder, with any headers: names and values may be null and repeat, in any order.
 */
import { createRequire } from "node:module";
import type { ProtocolDecoder } from "../../src/kafka/record-decoder.js";

const require = createRequire(import.meta.url);

/** kafkajs's protocol encoder, the methods used here. */
export interface Encoder {
  buffer: Buffer;
  writeInt8(value: number): Encoder;
  writeVarInt(value: number): Encoder;
  writeVarLong(value: number | string): Encoder;
  writeVarIntString(value: string | null): Encoder;
  writeVarIntBytes(value: Buffer | string | null): Encoder;
  writeBuffer(value: Buffer): Encoder;
}
type EncoderClass = new () => Encoder;
/** kafkajs's protocol decoder. */
export type DecoderClass = new (buffer: Buffer) => ProtocolDecoder;

export const KafkaEncoder = require("kafkajs/src/protocol/encoder") as EncoderClass;
export const KafkaDecoder = require("kafkajs/src/protocol/decoder") as DecoderClass;
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0") as {
  RecordBatch: (options: object) => Promise<Encoder>;
};

export type Header = [name: string | null, value: Buffer | string | null];

export interface RecordSpec {
  offsetDelta?: number;
  /** A number or a 64-bit decimal string; default 0. */
  timestampDelta?: number | string;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: readonly Header[];
  /** The header count the record claims; default the real one. */
  claimedHeaders?: number;
}

/** A record, its length first, as a record batch holds it. */
export function recordBytes({
  offsetDelta = 0,
  timestampDelta = 0,
  key = null,
  value = "{}",
  headers = [],
  claimedHeaders = headers.length,
}: RecordSpec): Buffer {
  const body = new KafkaEncoder()
    .writeInt8(0)
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarInt(claimedHeaders);
  for (const [name, headerValue] of headers) body.writeVarIntString(name).writeVarIntBytes(headerValue);
  return Buffer.concat([new KafkaEncoder().writeVarInt(body.buffer.length).buffer, body.buffer]);
}

/** The kafkajs decoder positioned on one record's bytes (past its length), as kafkajs's batch decoder calls the record decoder. */
export function recordDecoder(record: Buffer) {
  return new KafkaDecoder(new KafkaDecoder(record).readVarIntBytes() as Buffer);
}

/** A record batch of `records`, at offset `firstOffset`, as a fetch response carries it. */
export async function recordBatchBytes(records: readonly RecordSpec[], firstOffset = 0): Promise<Buffer> {
  const encoded = records.map((spec, i) => {
    const encoder = new KafkaEncoder();
    encoder.writeBuffer(recordBytes({ offsetDelta: i, ...spec }));
    return encoder;
  });
  const batch = await RecordBatch({
    firstOffset: String(firstOffset),
    lastOffsetDelta: records.length - 1,
    records: encoded,
  });
  return batch.buffer;
}
