/**
 * A chunk's records packed for the trip to a processing thread: keys and values back to back in
 * one buffer (transferred, not cloned), their bounds in one typed array. Copying a chunk's bytes
 * once costs less than cloning one Buffer object per record.
 */
import type { ChunkRecord } from "../stages/items.js";

export interface PackedRecords {
  /** Every key and value, back to back. */
  bytes: Uint8Array;
  /** Four per record: key start, key end, value start, value end in `bytes`; a start of -1 is null. */
  bounds: Int32Array;
  /** The records' offsets and timestamps (decimal integers), comma-separated: one string clones far faster than an array of them. */
  offsets: string;
  timestamps: string;
  /** How many headers each record carried; -1 where unknown. */
  headerCounts: Int32Array;
}

export function packRecords(records: readonly ChunkRecord[]): PackedRecords {
  let size = 0;
  for (const r of records) size += (r.key?.length ?? 0) + (r.value?.length ?? 0);
  const bytes = new Uint8Array(size);
  const bounds = new Int32Array(records.length * 4);
  const headerCounts = new Int32Array(records.length);
  const offsets: string[] = new Array(records.length);
  const timestamps: string[] = new Array(records.length);
  let at = 0;
  const put = (buffer: Buffer | null, slot: number) => {
    if (buffer === null) {
      bounds[slot] = -1;
      bounds[slot + 1] = -1;
      return;
    }
    bytes.set(buffer, at);
    bounds[slot] = at;
    at += buffer.length;
    bounds[slot + 1] = at;
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as ChunkRecord;
    put(r.key, i * 4);
    put(r.value, i * 4 + 2);
    offsets[i] = r.offset;
    timestamps[i] = r.timestamp;
    headerCounts[i] = r.headerCount ?? -1;
  }
  return { bytes, bounds, offsets: offsets.join(","), timestamps: timestamps.join(","), headerCounts };
}

/** The records again, their keys and values views of `bytes` (nothing copied). */
export function unpackRecords(packed: PackedRecords): ChunkRecord[] {
  const { bytes, bounds } = packed;
  const view = (slot: number) => {
    const start = bounds[slot] as number;
    return start < 0 ? null : Buffer.from(bytes.buffer, bytes.byteOffset + start, (bounds[slot + 1] as number) - start);
  };
  if (packed.headerCounts.length === 0) return [];
  const timestamps = packed.timestamps.split(",");
  return packed.offsets.split(",").map((offset, i) => {
    const headerCount = packed.headerCounts[i] as number;
    return {
      offset,
      key: view(i * 4),
      value: view(i * 4 + 2),
      timestamp: timestamps[i] as string,
      ...(headerCount >= 0 ? { headerCount } : {}),
    };
  });
}

/** The buffers to transfer with `packed`. */
export function packedRecordBuffers(packed: PackedRecords): ArrayBuffer[] {
  return [packed.bytes.buffer, packed.bounds.buffer, packed.headerCounts.buffer] as ArrayBuffer[];
}
