/**
 * Confluent's wire format: a zero magic byte, the schema id (4 bytes, big-endian), then the payload;
 * Protobuf payloads start with the message indexes (which message of the schema's file: a count,
 * then each index, as zig-zag varints; a single 0 is the first message).
 */

/** Magic byte, then the 4-byte schema id. */
export const WIRE_HEADER_BYTES = 5;

/** The schema id of a value in the wire format, or undefined when it has no such header. */
export function wireSchemaId(value: Uint8Array | null): number | undefined {
  if (value === null || value.length < WIRE_HEADER_BYTES || value[0] !== 0) return undefined;
  return (
    (((value[1] as number) << 24) |
      ((value[2] as number) << 16) |
      ((value[3] as number) << 8) |
      (value[4] as number)) >>>
    0
  );
}

/** A Protobuf value's message indexes and where its message starts; throws on bytes that are not indexes. */
export function protobufMessageIndexes(
  value: Uint8Array,
  from = WIRE_HEADER_BYTES,
): { indexes: number[]; start: number } {
  let at = from;
  const next = (): number => {
    let result = 0;
    for (let shift = 0; shift < 32; shift += 7) {
      if (at >= value.length) throw new Error("the message indexes end before the payload");
      const byte = value[at++] as number;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (result >>> 1) ^ -(result & 1);
    }
    throw new Error("a message index is longer than 5 bytes");
  };
  const count = next();
  if (count === 0) return { indexes: [0], start: at };
  // A message nests a handful of levels; a huge count is not an index list.
  if (count < 0 || count > 100) throw new Error(`${count} message indexes: not the wire format's`);
  const indexes: number[] = [];
  for (let i = 0; i < count; i++) {
    const index = next();
    if (index < 0) throw new Error(`message index ${index} is negative`);
    indexes.push(index);
  }
  return { indexes, start: at };
}
