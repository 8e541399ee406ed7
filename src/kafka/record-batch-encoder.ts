/**
 * kafkajs 2.2.4's record batch encoder (`protocol/recordBatch/v0/index.js`, magic 2), rewritten to
 * write each batch into one buffer: the records (record-encoder.ts, sized when made) straight into
 * place, then the CRC-32C (crc32c.ts, the CPU's CRC instructions) over the part it covers.
 * kafkajs's copies each record's own buffer into the batch's, the batch's into another to prepend
 * the CRC, and that into a third to prepend the offset and length, growing each by doubling
 * (zeroed), and checksums one byte per table lookup.
 *
 * Same bytes as kafkajs's for the same input (test/unit/kafka-fixes.test.ts), compressed batches
 * too (the records gathered, then kafkajs's codec). `prepareBatch` sizes a batch for the produce
 * request (produce-request.ts) to write in place; `RecordBatch` gives kafkajs's result, a kafkajs
 * Encoder holding the batch, and takes kafkajs Encoders as records too (copied in, as kafkajs's
 * would). It replaces kafkajs's in the module cache (see kafkajs.ts), with `MAGIC_BYTE`, which the
 * fetch decoder also takes from that module.
 */
import { createRequire } from "node:module";
import { crc32c } from "./crc32c.js";
import { encoderOf, type KafkaEncoder } from "./kafka-encoder.js";
import { EncodedRecord } from "./record-encoder.js";

const require = createRequire(import.meta.url);

interface LongValue {
  getHighBits(): number;
  getLowBits(): number;
}
interface Codec {
  compress(encoder: KafkaEncoder): Promise<Buffer>;
}

const Long = require("kafkajs/src/utils/long") as {
  fromValue(value: unknown): LongValue;
  fromInt(value: number): LongValue;
};
const { Types, lookupCodec, COMPRESSION_CODEC_MASK } = require("kafkajs/src/protocol/message/compression") as {
  Types: { None: number };
  lookupCodec(type: number): Codec | null;
  COMPRESSION_CODEC_MASK: number;
};

export const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 16;

/** Bytes before the records: first offset, length, partition leader epoch, magic, CRC. */
const PREFIX_BYTES = 8 + 4 + 4 + 1 + 4;
/** From the attributes (where the CRC starts) to the record count. */
const BODY_HEADER_BYTES = 2 + 4 + 8 + 8 + 8 + 2 + 4;

/** A record of the batch: ours, or a kafkajs Encoder holding one (as kafkajs's writeEncoderArray takes). */
type BatchRecord = EncodedRecord | KafkaEncoder;

export interface RecordBatchOptions {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: unknown;
  maxTimestamp?: unknown;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: readonly BatchRecord[];
}

/** A batch sized and ready to be written where its request says. */
export interface PreparedBatch {
  readonly size: number;
  /** Writes the batch at `offset` of `buf` (which has `size` bytes there); returns the offset after it. */
  writeTo(buf: Buffer, offset: number): number;
}

function recordBytes(record: BatchRecord): number {
  if (record instanceof EncodedRecord) return record.byteLength;
  // kafkajs's writeEncoderArray refuses anything else with this message.
  if (record == null || !Buffer.isBuffer(record.buf)) throw new Error("all values should be an instance of Encoder[]");
  return record.size();
}

function writeRecords(records: readonly BatchRecord[], buf: Buffer, offset: number): number {
  for (const record of records) {
    if (record instanceof EncodedRecord) offset = record.writeTo(buf, offset);
    else offset += record.buffer.copy(buf, offset);
  }
  return offset;
}

function writeInt64(buf: Buffer, offset: number, value: unknown): number {
  const long = Long.fromValue(value);
  buf.writeInt32BE(long.getHighBits(), offset);
  buf.writeInt32BE(long.getLowBits(), offset + 4);
  return offset + 8;
}

async function compressRecords(compression: number, records: readonly BatchRecord[]): Promise<Buffer> {
  let size = 0;
  for (const record of records) size += recordBytes(record);
  const buf = Buffer.allocUnsafe(size);
  if (writeRecords(records, buf, 0) !== size) throw new Error("record batch: the records' sizes do not add up");
  // kafkajs's lookupCodec: null for an unknown type, then `codec.compress` throws a TypeError as kafkajs's does.
  return (lookupCodec(compression) as Codec).compress(encoderOf(buf));
}

/** Sizes a batch (compressing its records first if asked), with kafkajs's RecordBatch's defaults. */
export async function prepareBatch({
  compression = Types.None,
  firstOffset = Long.fromInt(0),
  firstTimestamp = Date.now(),
  maxTimestamp = Date.now(),
  partitionLeaderEpoch = 0,
  lastOffsetDelta = 0,
  transactional = false,
  producerId = Long.fromValue(-1),
  producerEpoch = 0,
  firstSequence = 0,
  records = [],
}: RecordBatchOptions): Promise<PreparedBatch> {
  const attributes = (compression & COMPRESSION_CODEC_MASK) | (transactional ? TRANSACTIONAL_MASK : 0);
  const compressed = compression === Types.None ? undefined : await compressRecords(compression, records);
  let recordsSize = 4; // the record count
  if (compressed) recordsSize += compressed.length;
  else for (const record of records) recordsSize += recordBytes(record);
  const size = PREFIX_BYTES + BODY_HEADER_BYTES + recordsSize;
  return {
    size,
    writeTo(buf: Buffer, start: number): number {
      let offset = writeInt64(buf, start, firstOffset);
      offset = buf.writeInt32BE(size - 12, offset); // the batch's length, from the leader epoch on
      offset = buf.writeInt32BE(partitionLeaderEpoch, offset);
      offset = buf.writeInt8(MAGIC_BYTE, offset);
      const crcAt = offset;
      const bodyStart = crcAt + 4;
      offset = buf.writeInt16BE(attributes, bodyStart);
      offset = buf.writeInt32BE(lastOffsetDelta, offset);
      offset = writeInt64(buf, offset, firstTimestamp);
      offset = writeInt64(buf, offset, maxTimestamp);
      offset = writeInt64(buf, offset, producerId);
      offset = buf.writeInt16BE(producerEpoch, offset);
      offset = buf.writeInt32BE(firstSequence, offset);
      offset = buf.writeInt32BE(records.length, offset);
      offset = compressed ? offset + compressed.copy(buf, offset) : writeRecords(records, buf, offset);
      // The buffer is not zeroed: a wrong size would send old memory.
      if (offset !== start + size) throw new Error(`record batch: wrote ${offset - start} bytes of ${size}`);
      buf.writeUInt32BE(crc32c(buf, bodyStart, offset), crcAt);
      return offset;
    },
  };
}

/** kafkajs's RecordBatch: the batch alone, in a kafkajs Encoder. */
export async function RecordBatch(options: RecordBatchOptions): Promise<KafkaEncoder> {
  const batch = await prepareBatch(options);
  const buf = Buffer.allocUnsafe(batch.size);
  batch.writeTo(buf, 0);
  return encoderOf(buf);
}
