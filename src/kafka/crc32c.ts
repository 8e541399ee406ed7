/**
 * CRC-32C (Castagnoli), the checksum of a Kafka record batch, eight bytes a step ("slice-by-8").
 * kafkajs's takes one table lookup per byte; this one reads eight bytes per step through eight
 * tables, about four times as fast in V8 (bench/record-codec.bench.ts), with the same result.
 */

/** The reflected Castagnoli polynomial. */
const POLYNOMIAL = 0x82f63b78;

function tables(): Int32Array[] {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  const [t0] = t as [Int32Array];
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    t0[n] = c;
  }
  // Table k: the CRC of byte n followed by k zero bytes.
  for (let k = 1; k < 8; k++) {
    const previous = t[k - 1] as Int32Array;
    const table = t[k] as Int32Array;
    for (let n = 0; n < 256; n++) {
      const c = previous[n] as number;
      table[n] = (c >>> 8) ^ (t0[c & 0xff] as number);
    }
  }
  return t;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = tables() as [
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
];

/** The CRC-32C of `bytes[start, end)`, unsigned. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = -1;
  let i = start;
  // Typed-array reads out of range give undefined: the loops stay within [start, end).
  for (const last = end - 8; i <= last; i += 8) {
    const low =
      crc ^
      ((bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24));
    crc =
      (T7[low & 0xff] as number) ^
      (T6[(low >>> 8) & 0xff] as number) ^
      (T5[(low >>> 16) & 0xff] as number) ^
      (T4[low >>> 24] as number) ^
      (T3[bytes[i + 4] as number] as number) ^
      (T2[bytes[i + 5] as number] as number) ^
      (T1[bytes[i + 6] as number] as number) ^
      (T0[bytes[i + 7] as number] as number);
  }
  for (; i < end; i++) crc = (T0[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}
