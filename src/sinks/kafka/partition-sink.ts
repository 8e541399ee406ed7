/** What the pipeline asks of a Kafka sink, per input partition. */
import type { ProducedRecord } from "../../kafka/client.js";

export type { ProducedRecord };

export interface PartitionOutput {
  topic: string;
  partition: number;
  events: ProducedRecord[];
  deadLetters: ProducedRecord[];
  /** Offset of the next input record to read: committed together with (or after) the outputs. */
  nextOffset: string;
  /** Offset-commit metadata stored with the offset (a replay's plan); none by default. */
  metadata?: string;
  /**
   * Commits the input offset in the consumer group's current generation (the source's control);
   * the at-least-once sink calls it once the outputs are acknowledged. The exactly-once sink
   * commits the offset inside its transaction instead.
   */
  commitOffset(nextOffset: string, metadata?: string): Promise<void>;
}

export interface PartitionSink {
  /**
   * Takes over an input partition, before its committed offset is trusted: in exactly-once mode
   * this fences any earlier owner of the partition (and completes or aborts its open transaction),
   * every time it is called — also for a partition this worker held before.
   */
  acquire(topic: string, partition: number): Promise<void>;
  /**
   * Makes the outputs durable and commits the input offset; never half of it in exactly-once mode.
   * Rejects with FencedError (another worker owns the partition: nothing was committed),
   * CommitOutcomeUnknownError (exactly-once: the commit may or may not have happened; acquire again
   * and read the committed offset), OffsetCommitError (at-least-once: the outputs are durable, the
   * offset is not), or another error (nothing was committed).
   */
  commit(output: PartitionOutput): Promise<void>;
  /**
   * Ends a transaction of this partition's id that the broker left open after it acknowledged its
   * commit (exactly-once; see ExactlyOnceSink.sweep): aborts it, under the current epoch, in every
   * partition the worker writes to. Call after `acquire`. Nothing to do in at-least-once mode.
   */
  sweep(topic: string, partition: number, offset: string): Promise<void>;
  /** The partition went to another worker. */
  release(topic: string, partition: number): Promise<void>;
  close(): Promise<void>;
}
