/**
 * The contract between a Kafka source (the consumer group, the replay reader) and the pipeline:
 * batches of one partition with the controls that go with them, the handler a source feeds, and
 * what the pipeline may ask of the source. The pipeline gets controls, never the client.
 */
import type { ConsumedRecord, TopicPartition } from "../kafka/client.js";

export type { ConsumedRecord, TopicPartition };

export interface PartitionBatch extends TopicPartition {
  messages: ConsumedRecord[];
  /** The partition's end offset when fetched (for the lag metric). */
  highWatermark: string;
  /** Keeps this member in the group while long work runs (the client has no background heartbeat). */
  heartbeat(): Promise<void>;
  /** A rebalance or seek made this batch obsolete: abandon it uncommitted. */
  isStale(): boolean;
  isRunning(): boolean;
  /**
   * Aborts when the batch must be given up uncommitted: a stop or rebalance began and the drain
   * timeout passed. Work that can wait (inference, Redis) races it.
   */
  signal: AbortSignal;
  /**
   * Commits the offset of the next record to read in the group's current generation (at-least-once,
   * after the outputs were acknowledged); it still commits while the consumer is stopping, so a
   * batch finished during a shutdown is not read again.
   */
  commitOffset(nextOffset: string, metadata?: string): Promise<void>;
  /** Offset to commit once the batch is processed; default: the last message's + 1 (a replay's end may lie past it). */
  nextOffset?: string;
  /** Offset-commit metadata to store with the commit (a replay keeps its plan there). */
  commitMetadata?: string;
}

/** What processes a source's batches. */
export interface BatchHandler {
  /** A new group generation began with this assignment (fence and forget before reading). */
  onAssignment(assigned: TopicPartition[]): void;
  /** Processes a batch; `processed` advances the read position past it, `abandoned` reads it again. */
  handle(batch: PartitionBatch): Promise<"processed" | "abandoned">;
}

/** A Kafka source: it feeds a handler, and answers for its group's offsets and read position. */
export interface BatchSource {
  /** Joins the group and starts feeding the handler; resolves once the first assignment arrived. */
  start(handler: BatchHandler): Promise<void>;
  /** The group's committed offset of a partition, or undefined when nothing was committed yet. */
  committedOffset(tp: TopicPartition): Promise<string | undefined>;
  /** Moves the read position; batches fetched before become stale. */
  seek(tp: TopicPartition, offset: string): void;
  /** Ends each batch after its chunk in flight (abandoned after the drain timeout), then leaves the group. */
  stop(): Promise<void>;
}
