/**
 * kafkajs 2.2.4's record encoder (`protocol/recordBatch/record/v0/index.js`), rewritten to write
 * straight into its record batch's one buffer (record-batch-encoder.ts), with one fix.
 *
 * - The fix: a header whose value is null is written as a null value. Kafka allows one (the Java
 *   client sends `new RecordHeader(name, null)`) and kafkajs reads one as `null`, but its encoder
 *   sizes every value with `Buffer.byteLength`, which throws on null: the dead letter of such a
 *   record, or the event of a record with a null `traceparent`, could never be written, and the
 *   transaction failed again on every retry, holding the partition for good.
 * - The speed: kafkajs's makes an Encoder (a zeroed 512-byte buffer) for the record and another for
 *   each header, a buffer per varint, and 64-bit BigInt arithmetic for the timestamp's varint; the
 *   batch then copies every record once more. Ours sizes the record here (the byte lengths kept)
 *   and writes it where the batch says: about 9 µs per output record on the main thread before
 *   (docs/benchmarks.md, issue #24).
 *
 * Same bytes as kafkajs's otherwise (test/unit/kafka-fixes.test.ts compares them over varied
 * records and whole produce requests), so it replaces it (see kafkajs.ts). What it returns also
 * behaves as a kafkajs Encoder (`buf`, `buffer`, `size()`), for code that expects one.
 */
import { KafkaEncoderClass } from "./kafka-encoder.js";

type HeaderValue = Buffer | string | null | undefined;

export interface RecordToEncode {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key?: Buffer | string | null | undefined;
  value?: Buffer | string | null | undefined;
  headers?: Record<string, HeaderValue | HeaderValue[]>;
}

/** The size of the zigzag varint kafkajs writes for a 32-bit `value` (Encoder.sizeOfVarInt). */
export function sizeOfVarInt(value: number): number {
  let encoded = (value << 1) ^ (value >> 31);
  let bytes = 1;
  while ((encoded & 0xffffff80) !== 0) {
    bytes++;
    encoded >>>= 7;
  }
  return bytes;
}

/** Writes `value` as kafkajs's writeVarInt does (zigzag, then LEB128); returns the offset after it. */
export function writeVarInt(buf: Buffer, offset: number, value: number): number {
  let encoded = (value << 1) ^ (value >> 31);
  while ((encoded & 0xffffff80) !== 0) {
    buf[offset++] = (encoded & 0x7f) | 0x80;
    encoded >>>= 7;
  }
  buf[offset++] = encoded & 0x7f;
  return offset;
}

/** Deltas whose zigzag (2|v| or 2|v| - 1) is still an exact double; anything else goes kafkajs's way. */
const FAST_VARLONG_LIMIT = 2 ** 51;

/** The zigzag varlong of `value` as bytes, by kafkajs's own (BigInt) encoder: for unusual deltas only. */
function kafkajsVarLong(value: unknown): Buffer {
  return new KafkaEncoderClass().writeVarLong(value).buffer;
}

/** `value`'s zigzag as an exact number, or undefined when it must go kafkajs's way (not an integer below the limit). */
function numberZigzag(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isInteger(value) || Math.abs(value) >= FAST_VARLONG_LIMIT) return undefined;
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function sizeOfVarLong(value: unknown): number {
  let encoded = numberZigzag(value);
  if (encoded === undefined) return kafkajsVarLong(value).length;
  let bytes = 1;
  while (encoded >= 0x80) {
    bytes++;
    encoded = Math.floor(encoded / 0x80);
  }
  return bytes;
}

function writeVarLong(buf: Buffer, offset: number, value: unknown): number {
  let encoded = numberZigzag(value);
  if (encoded === undefined) {
    const bytes = kafkajsVarLong(value);
    bytes.copy(buf, offset);
    return offset + bytes.length;
  }
  while (encoded >= 0x80) {
    buf[offset++] = (encoded % 0x80) | 0x80;
    encoded = Math.floor(encoded / 0x80);
  }
  buf[offset++] = encoded;
  return offset;
}

/**
 * A key, a value or a header's value: its byte length, -1 for null (kafkajs's sizeOfVarIntBytes).
 * `what` names it in the error, `header` being the header's name (the message made only then).
 */
function byteLengthOf(bytes: unknown, what: "key" | "value" | "header", header?: string): number {
  if (bytes === null || bytes === undefined) return -1;
  if (typeof bytes === "string") return Buffer.byteLength(bytes);
  if (Buffer.isBuffer(bytes)) return bytes.length;
  // kafkajs's throws a TypeError from Buffer.byteLength for these (or, for a Uint8Array, writes a broken record).
  const named = what === "header" ? `header ${JSON.stringify(header)}` : what;
  throw new TypeError(`a Kafka record's ${named} must be a string, a Buffer or null, not ${typeof bytes}`);
}

/** Writes `bytes` of `length` bytes (from byteLengthOf) with its varint length first. */
function writeBytes(buf: Buffer, offset: number, bytes: Buffer | string | null | undefined, length: number): number {
  offset = writeVarInt(buf, offset, length);
  if (length <= 0) return offset;
  if (typeof bytes === "string") buf.write(bytes, offset, length);
  else (bytes as Buffer).copy(buf, offset);
  return offset + length;
}

/** One record, sized; written into its batch's buffer by `writeTo`. */
export class EncodedRecord {
  private readonly keyLength: number;
  private readonly valueLength: number;
  /** Each header's name and value in turn, flattened in kafkajs's order (a name's array in place). */
  private readonly headers: HeaderValue[] = [];
  /** Their byte lengths (-1 for a null value), in the same turn. */
  private readonly headerLengths: number[] = [];
  private readonly bodySize: number;
  /** The record's bytes with its length first, as the batch holds it. */
  readonly byteLength: number;
  private bytes: Buffer | undefined;

  constructor(
    private readonly offsetDelta: number,
    private readonly timestampDelta: unknown,
    private readonly key: Buffer | string | null | undefined,
    private readonly value: Buffer | string | null | undefined,
    headers: Record<string, HeaderValue | HeaderValue[]>,
  ) {
    this.keyLength = byteLengthOf(key, "key");
    this.valueLength = byteLengthOf(value, "value");
    let headersSize = 0;
    for (const name of Object.keys(headers)) {
      const values = headers[name];
      if (Array.isArray(values)) {
        // forEach's order and holes, as kafkajs's flatMap has them.
        values.forEach((v) => {
          headersSize += this.addHeader(name, v);
        });
      } else {
        headersSize += this.addHeader(name, values);
      }
    }
    this.bodySize =
      1 + // the record's attributes, always one byte
      sizeOfVarLong(timestampDelta) +
      sizeOfVarInt(offsetDelta) +
      sizeOfVarInt(this.keyLength) +
      Math.max(this.keyLength, 0) +
      sizeOfVarInt(this.valueLength) +
      Math.max(this.valueLength, 0) +
      sizeOfVarInt(this.headers.length / 2) +
      headersSize;
    this.byteLength = sizeOfVarInt(this.bodySize) + this.bodySize;
  }

  private addHeader(name: string, value: HeaderValue): number {
    this.headers.push(name, value);
    const nameLength = Buffer.byteLength(name);
    // Null (or undefined) is written as the null value -1: the fix.
    const valueLength = byteLengthOf(value, "header", name);
    this.headerLengths.push(nameLength, valueLength);
    return sizeOfVarInt(nameLength) + nameLength + sizeOfVarInt(valueLength) + Math.max(valueLength, 0);
  }

  /** Writes the record at `offset` of `buf` (which has `byteLength` bytes there); returns the offset after it. */
  writeTo(buf: Buffer, offset: number): number {
    offset = writeVarInt(buf, offset, this.bodySize);
    buf[offset++] = 0; // no record attributes are used
    offset = writeVarLong(buf, offset, this.timestampDelta);
    offset = writeVarInt(buf, offset, this.offsetDelta);
    offset = writeBytes(buf, offset, this.key, this.keyLength);
    offset = writeBytes(buf, offset, this.value, this.valueLength);
    const { headers, headerLengths } = this;
    offset = writeVarInt(buf, offset, headers.length / 2);
    for (let i = 0; i < headers.length; i++) offset = writeBytes(buf, offset, headers[i], headerLengths[i] as number);
    return offset;
  }

  /** The record alone, as kafkajs's Encoder gives it (`buffer`, `buf`, `size()`), for code that expects one. */
  get buffer(): Buffer {
    if (this.bytes === undefined) {
      this.bytes = Buffer.alloc(this.byteLength);
      this.writeTo(this.bytes, 0);
    }
    return this.bytes;
  }

  get buf(): Buffer {
    return this.buffer;
  }

  size(): number {
    return this.byteLength;
  }
}

export function encodeRecord({
  offsetDelta = 0,
  timestampDelta = 0,
  key,
  value,
  headers = {},
}: RecordToEncode): EncodedRecord {
  return new EncodedRecord(offsetDelta, timestampDelta, key, value, headers);
}
