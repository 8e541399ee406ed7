/**
 * What our request encoders share with kafkajs 2.2.4's `protocol/encoder.js`: its Encoder as the
 * result (kafkajs's callers read `buffer`, `buf`, `size()`), wrapped around a buffer written in
 * one go, and its nullable string's layout.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** kafkajs's Encoder, the parts its callers read of an encoded request or batch. */
export interface KafkaEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
  /** The one writer used here (record-encoder.ts: the 64-bit varint of an unusual timestamp delta). */
  writeVarLong(value: unknown): KafkaEncoder;
}

/** kafkajs's Encoder class itself. */
export const KafkaEncoderClass = require("kafkajs/src/protocol/encoder") as {
  new (): KafkaEncoder;
  prototype: KafkaEncoder;
};

/** A kafkajs Encoder holding exactly `buf`, as kafkajs's encoders return (made without its zeroed 512 bytes). */
export function encoderOf(buf: Buffer): KafkaEncoder {
  const encoder = Object.create(KafkaEncoderClass.prototype) as KafkaEncoder;
  encoder.buf = buf;
  encoder.offset = buf.length;
  return encoder;
}

/** A string's UTF-8 length as kafkajs's writeString writes it first: -1 for null (or undefined). */
export function stringLength(value: string | null | undefined): number {
  return value == null ? -1 : Buffer.byteLength(value, "utf8");
}

/** Writes `value` (of `length`, from stringLength) as kafkajs's writeString: an int16 length, then its bytes. */
export function writeString(buf: Buffer, offset: number, value: string | null | undefined, length: number): number {
  offset = buf.writeInt16BE(length, offset);
  if (length > 0) buf.write(value as string, offset, length, "utf8");
  return offset + Math.max(length, 0);
}

/** Throws as kafkajs's writeEncoder does for anything that is not an Encoder. */
export function checkEncoder(value: unknown): asserts value is KafkaEncoder {
  if (value == null || !Buffer.isBuffer((value as KafkaEncoder).buf)) {
    throw new Error("value should be an instance of Encoder");
  }
}
