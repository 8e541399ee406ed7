/**
 * CRC-32C (Castagnoli), the checksum of a Kafka record batch, from `@node-rs/crc32`: the CPU's
 * CRC instructions (SSE 4.2, ARMv8) through a prebuilt Node-API binary, about 6.6 GB/s on a
 * produce request's batches here where kafkajs's JavaScript (one table lookup per byte) does about
 * 0.4 and a JavaScript slice-by-8 1.2 (docs/benchmarks.md): some 0.3 µs per output record saved on
 * the main thread over the best JavaScript.
 *
 * On a platform the package has no binary for, its loader throws, and kafkajs's own takes over:
 * the same checksum, slower. `CRC32C_SOURCE` says which is in use (the bench prints it; CI asserts
 * the binary's).
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

type Checksum = (bytes: Uint8Array) => number;

function load(): { source: "@node-rs/crc32" | "kafkajs"; checksum: Checksum } {
  try {
    const { crc32c: native } = require("@node-rs/crc32") as { crc32c: (input: Uint8Array) => number };
    return { source: "@node-rs/crc32", checksum: native };
  } catch {
    return {
      source: "kafkajs",
      checksum: require("kafkajs/src/protocol/recordBatch/crc32C/index.js") as Checksum,
    };
  }
}

const { source, checksum } = load();

/** Where the checksum comes from: the native binary, or kafkajs's JavaScript where there is none. */
export const CRC32C_SOURCE = source;

/** The CRC-32C of `bytes[start, end)`, unsigned. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return checksum(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end)) >>> 0;
}
