/** What the pipeline asks of a Kafka sink, per input partition. */
import type { Message } from "kafkajs";

export interface PartitionOutput {
  topic: string;
  partition: number;
  events: Message[];
  deadLetters: Message[];
  /** Offset of the next input record to read: committed together with (or after) the outputs. */
  nextOffset: string;
  /** Offset-commit metadata stored with the offset (a replay's plan); none by default. */
  metadata?: string;
}

export interface PartitionSink {
  /**
   * Takes over an input partition newly assigned to this worker, before its committed offset is
   * trusted: in exactly-once mode this fences any earlier owner of the partition.
   */
  acquire(topic: string, partition: number): Promise<void>;
  /** Makes the outputs durable and commits the input offset; never half of it in exactly-once mode. */
  commit(output: PartitionOutput): Promise<void>;
  /** The partition went to another worker. */
  release(topic: string, partition: number): Promise<void>;
  close(): Promise<void>;
}
