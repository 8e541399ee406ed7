/**
 * kafkajs 2.2.4's record decoder (`protocol/recordBatch/record/v0/decoder.js`) with the headers
 * gathered in linear time. kafkajs builds the headers object with a `reduce` that copies the whole
 * object once per header, and an array once per repeated name, all on the event loop: 4,000
 * headers took 1.6 s, 8,000 took 8.7 s, and a record of 30,000 empty headers (about 150 KB, far
 * under the broker's limit) held its partition, and the records fetched with it, for minutes.
 *
 * Same output as kafkajs's (a name read twice gives an array of its values, in order) with two
 * differences: a name that Object.prototype also has (`constructor`, `toString`, `__proto__`) is
 * an own property holding the record's value (kafkajs's gave `[Object.prototype.constructor, value]`
 * for them), and past HEADERS_KEPT headers the rest are read past, not kept. `headerCount` says how
 * many the record had, so the pipeline can send a record over `input.maxHeaders` to the dead letters.
 * It replaces kafkajs's in the module cache (see kafkajs.ts).
 *
 * It also spares the main thread kafkajs's 64-bit BigInt arithmetic per record: a timestamp delta
 * that fits 49 bits, and a batch's first offset and timestamp that are exact doubles, are added as
 * numbers (the same decimal string); anything larger goes kafkajs's way.
 */
import { createRequire } from "node:module";
import { HEADERS_KEPT } from "../config/schema.js";

const require = createRequire(import.meta.url);

/** kafkajs's protocol decoder, the methods used here. */
export interface ProtocolDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): unknown;
  readVarIntBytes(): Buffer | null;
  readVarIntString(): string | null;
}

interface LongValue {
  add(other: unknown): LongValue;
  toString(): string;
}

const Long = require("kafkajs/src/utils/long") as { fromValue(value: unknown): LongValue };
const TimestampTypes = require("kafkajs/src/protocol/timestampTypes") as { LOG_APPEND_TIME: number };

export type HeaderValue = Buffer | null;
export type DecodedHeaders = Record<string, HeaderValue | HeaderValue[]>;

export interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
  [field: string]: unknown;
}

export interface DecodedRecord {
  magicByte: number | undefined;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: DecodedHeaders;
  /** How many headers the record carried; `headers` holds the first HEADERS_KEPT of them. */
  headerCount: number;
  isControlRecord: boolean;
  batchContext: BatchContext;
}

/** A header's bytes at least: the key's length and the value's length, a varint each. */
const MIN_HEADER_BYTES = 2;

/** Sets `name` as an own data property: assigning `__proto__` would set the prototype instead. */
function put(headers: DecodedHeaders, name: string, value: HeaderValue | HeaderValue[]): void {
  if (name === "__proto__") {
    Object.defineProperty(headers, name, { value, writable: true, enumerable: true, configurable: true });
  } else {
    headers[name] = value;
  }
}

/** Reads the headers, `count` of them by the record's word; returns how many there were. */
function readHeaders(decoder: ProtocolDecoder, count: number, headers: DecodedHeaders): number {
  let read = 0;
  // A valid record cannot claim more headers than its bytes hold (the broker checks): never loop on a count alone.
  while (read < count && decoder.buffer.length - decoder.offset >= MIN_HEADER_BYTES) {
    if (read < HEADERS_KEPT) {
      // A null name is "null", as in kafkajs's (a computed property name).
      const name = String(decoder.readVarIntString());
      const value = decoder.readVarIntBytes();
      if (!Object.hasOwn(headers, name)) {
        put(headers, name, value);
      } else {
        const seen = headers[name] as HeaderValue | HeaderValue[];
        if (Array.isArray(seen)) seen.push(value);
        else put(headers, name, [seen, value]);
      }
    } else {
      // Counted, not kept: skip the name and the value without copying either.
      for (let part = 0; part < 2; part++) {
        const length = decoder.readVarInt();
        if (length > 0) decoder.offset += length;
      }
    }
    read++;
  }
  return read;
}

/** Bytes of a varlong whose value still fits a double exactly (7 × 7 = 49 bits). */
const NUMBER_VARLONG_BYTES = 7;

/** A varlong as kafkajs's readVarLong reads it (zigzag): a number when it has at most 7 bytes, else kafkajs's Long. */
function readVarLong(decoder: ProtocolDecoder): unknown {
  const { buffer } = decoder;
  let offset = decoder.offset;
  let zigzag = 0;
  let scale = 1;
  for (let i = 0; i < NUMBER_VARLONG_BYTES; i++) {
    const byte = buffer[offset++];
    if (byte === undefined) break; // cut short: kafkajs's reads on past the end, its way
    zigzag += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      decoder.offset = offset;
      return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
    }
    scale *= 0x80;
  }
  return decoder.readVarLong();
}

/** A 64-bit decimal (a batch's first offset or timestamp) plus a delta, as kafkajs's Long gives it. */
function plus(base: string | undefined, delta: unknown): string {
  if (typeof delta === "number") {
    const n = Number(base);
    // Exact in a double, and written as a double prints it (no leading zeros, signs or exponents).
    if (Number.isSafeInteger(n) && Number.isSafeInteger(n + delta) && String(n) === base) return String(n + delta);
  }
  return Long.fromValue(base).add(delta).toString();
}

export function decodeRecord(decoder: ProtocolDecoder, batchContext: BatchContext = {}): DecodedRecord {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const attributes = decoder.readInt8();

  const timestampDelta = readVarLong(decoder);
  const timestamp =
    timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp
      ? maxTimestamp
      : plus(firstTimestamp, timestampDelta);

  const offset = plus(firstOffset, decoder.readVarInt());

  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers: DecodedHeaders = {};
  // -1 is a null array, as in kafkajs's readVarIntArray.
  const declared = decoder.readVarInt();
  const headerCount = declared > 0 ? readHeaders(decoder, declared, headers) : 0;

  return {
    magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    headerCount,
    isControlRecord: isControlBatch,
    batchContext,
  };
}
