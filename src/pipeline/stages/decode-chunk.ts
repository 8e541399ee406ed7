/** Decode: each record of a chunk to a message to tag, a dead letter with its code, or a tombstone. */
import type { Config } from "../../config/index.js";
import { recordTimestamp } from "../../events/record-timestamp.js";
import { decodeRecord } from "../decode.js";
import type { ChunkItem, ChunkPartition, ChunkRecord } from "./items.js";

export function decodeChunk<R extends ChunkRecord>(
  { topic, partition }: ChunkPartition,
  records: readonly R[],
  input: Config["input"],
): ChunkItem<R>[] {
  return records.map((record) => {
    // Any timestamp gives coordinates (a time outside a date's range keeps only its raw value).
    const source = { topic, partition, offset: record.offset, ...recordTimestamp(record.timestamp) };
    const decoded = decodeRecord(
      { key: record.key, value: record.value, source, headerCount: record.headerCount },
      input,
    );
    return { record, source, decoded };
  });
}
