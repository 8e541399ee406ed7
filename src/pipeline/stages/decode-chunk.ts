/** Decode: each record of a chunk to a message to tag, a dead letter with its code, or a tombstone. */
import type { Config } from "../../config/index.js";
import type { SourceCoordinates } from "../../events/dead-letter.js";
import { recordTimestamp } from "../../events/record-timestamp.js";
import type { ChunkSchemas } from "../../schema-registry/schema-cache.js";
import { decodeRecord } from "../decode.js";
import type { ChunkItem, ChunkPartition, ChunkRecord } from "./items.js";

export function decodeChunk<R extends ChunkRecord>(
  { topic, partition }: ChunkPartition,
  records: readonly R[],
  input: Config["input"],
  /** The schemas the records' ids name (registry formats). */
  schemas?: ChunkSchemas,
): ChunkItem<R>[] {
  return records.map((record) => {
    const source = recordSource({ topic, partition }, record);
    const decoded = decodeRecord(
      { key: record.key, value: record.value, source, headerCount: record.headerCount },
      input,
      schemas,
    );
    return { record, source, decoded };
  });
}

/** Where a record came from; any timestamp gives coordinates (a time outside a date's range keeps only its raw value). */
export function recordSource({ topic, partition }: ChunkPartition, record: ChunkRecord): SourceCoordinates {
  return { topic, partition, offset: record.offset, ...recordTimestamp(record.timestamp) };
}
