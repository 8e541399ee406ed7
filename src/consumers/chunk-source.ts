/**
 * The contract between a Kafka source (the consumer group, the replay reader) and the pipeline:
 * chunks of one partition (a chunk is committed as one transaction; a fetch is cut into chunks)
 * with the controls that go with them, the handler a source feeds, and
 * what the pipeline may ask of the source. The pipeline gets controls, never the client.
 */
import type { ConsumedRecord, TopicPartition } from "../kafka/client.js";

export type { ConsumedRecord, TopicPartition };

/** A partition's slice handed to the pipeline at once, and committed as one transaction. */
export interface PartitionChunk extends TopicPartition {
  messages: ConsumedRecord[];
  /** The partition's end offset when fetched (for the lag metric). */
  highWatermark: string;
  /** A rebalance or seek made this chunk obsolete: abandon it uncommitted. */
  isStale(): boolean;
  isRunning(): boolean;
  /**
   * Aborts when the chunk must be given up uncommitted: a stop or rebalance began and the drain
   * timeout passed. Work that can wait (inference, Redis) races it.
   */
  signal: AbortSignal;
  /**
   * Commits the offset of the next record to read in the group's current generation (at-least-once,
   * after the outputs were acknowledged); it still commits while the consumer is stopping, so a
   * chunk finished during a shutdown is not read again.
   */
  commitOffset(nextOffset: string, metadata?: string): Promise<void>;
  /**
   * Offset to commit once the chunk is processed, said by the source alone: its last record's + 1,
   * or a replay's end, which may lie past it.
   */
  nextOffset: string;
  /** Offset-commit metadata to store with the commit (a replay keeps its plan there). */
  commitMetadata?: string;
  /**
   * The chunk before this one in the partition when it is still in flight (`kafka.chunksInFlight`
   * 2): true once it was committed, false when it was not (abandoned, fenced, failed, outputs
   * only). This chunk commits only after it, and only when true: its offset would pass the records
   * of a chunk not committed, and its claim may have skipped ids that chunk holds pending.
   */
  previous?: Promise<boolean>;
  /** Told once the chunk's ids are claimed: the source then hands out the next chunk, whose claim comes after. */
  claimed?: () => void;
}

/** What processes a source's chunks (the pipeline). */
export interface ChunkHandler {
  /** A new group generation began with this assignment (fence and forget before reading). */
  onAssignment(assigned: TopicPartition[]): void;
  /** Processes a chunk; `processed` advances the read position past it, `abandoned` reads it again. */
  handle(chunk: PartitionChunk): Promise<"processed" | "abandoned">;
}

/** A Kafka source: it feeds a handler, and answers for its group's offsets and read position. */
export interface ChunkSource {
  /** Joins the group and starts feeding the handler; resolves once the first assignment arrived. */
  start(handler: ChunkHandler): Promise<void>;
  /** The group's committed offset of a partition, or undefined when nothing was committed yet. */
  committedOffset(tp: TopicPartition): Promise<string | undefined>;
  /** Moves the read position; batches fetched before become stale. */
  seek(tp: TopicPartition, offset: string): void;
  /** Ends each batch after its chunk in flight (abandoned after the drain timeout), then leaves the group. */
  stop(): Promise<void>;
}
