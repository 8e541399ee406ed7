/**
 * A chunk's records as the stages pass them on: each with where it came from and what decoding
 * made of it, typed by kind so that no stage needs a cast. Nothing here knows Kafka: a record is
 * its bytes, offset and timestamp.
 */
import type { SourceCoordinates } from "../../events/dead-letter.js";
import type { Decoded, DecodedMessage } from "../decode.js";

/** A partition's records handed over at once; a chunk is committed as one transaction. */
export interface ChunkRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since the epoch as the source sent it (any 64-bit value, as a string). */
  timestamp: string;
  /** How many headers the record carried, where records have headers. */
  headerCount?: number | undefined;
}

/** Which partition a chunk is of. */
export interface ChunkPartition {
  topic: string;
  partition: number;
}

/** One record of a chunk, decoded; `R` is the source's record type (kept whole for its dead letter). */
export interface ChunkItem<R extends ChunkRecord = ChunkRecord, D extends Decoded = Decoded> {
  record: R;
  source: SourceCoordinates;
  decoded: D;
}

/** A record that decoded to a message to tag. */
export type MessageItem<R extends ChunkRecord = ChunkRecord> = ChunkItem<R, DecodedMessage>;

export function isMessage<R extends ChunkRecord>(item: ChunkItem<R>): item is MessageItem<R> {
  return item.decoded.kind === "message";
}
