/**
 * The Kafka consumer group as a source. kafkajs delivers one partition's batch at a time
 * (`eachBatch`); several partitions run concurrently so their messages meet in the one batcher.
 * Offsets are never committed here on the source's own initiative: the pipeline commits them
 * through the sink (in the output transaction) or through `commitOffset` after the outputs were
 * acknowledged. The pipeline gets controls, never the client.
 */
import type { Admin, Consumer, KafkaMessage } from "kafkajs";

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface PartitionBatch extends TopicPartition {
  messages: KafkaMessage[];
  /** Keeps this member in the group while long work runs (kafkajs has no background heartbeat). */
  heartbeat(): Promise<void>;
  /** A rebalance or seek made this batch obsolete: abandon it uncommitted. */
  isStale(): boolean;
  isRunning(): boolean;
}

export interface SourceHandlers {
  /** A new group generation began with this assignment (fence and forget before reading). */
  onAssignment(assigned: TopicPartition[]): void;
  /** Processes a batch; `processed` advances the read position past it, `abandoned` reads it again. */
  handle(batch: PartitionBatch): Promise<"processed" | "abandoned">;
}

export interface KafkaSourceOptions {
  groupId: string;
  topics: readonly string[];
  pattern?: string | undefined;
  /** Partitions processed at once; their messages share the batcher. */
  concurrency: number;
  fromBeginning: boolean;
}

export class KafkaSource {
  constructor(
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly options: KafkaSourceOptions,
  ) {}

  /** Joins the group and starts consuming; resolves once the first assignment arrived. */
  async start(handlers: SourceHandlers): Promise<void> {
    const { consumer, options } = this;
    let joined: () => void = () => {};
    const firstJoin = new Promise<void>((resolve) => {
      joined = resolve;
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assigned = Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      );
      handlers.onAssignment(assigned);
      joined();
    });
    await consumer.connect();
    const topics: (string | RegExp)[] = [...options.topics];
    if (options.pattern) topics.push(new RegExp(options.pattern));
    await consumer.subscribe({ topics, fromBeginning: options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.concurrency,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isStale, isRunning }) => {
        if (batch.messages.length === 0) return;
        const outcome = await handlers.handle({
          topic: batch.topic,
          partition: batch.partition,
          messages: batch.messages,
          heartbeat,
          isStale,
          isRunning,
        });
        // Resolving moves kafkajs's read position only; what is committed is the sink's business.
        if (outcome === "processed") resolveOffset(batch.lastOffset());
      },
    });
    await firstJoin;
  }

  /** The group's committed offset of a partition, or undefined when nothing was committed yet. */
  async committedOffset({ topic, partition }: TopicPartition): Promise<string | undefined> {
    const [entry] = await this.admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] });
    const offset = entry?.partitions.find((p) => p.partition === partition)?.offset;
    return offset === undefined || offset === "-1" ? undefined : offset;
  }

  /** Commits the offset of the next record to read (at-least-once mode, after the outputs were acknowledged). */
  commitOffset({ topic, partition }: TopicPartition, nextOffset: string): Promise<void> {
    return this.consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
  }

  seek({ topic, partition }: TopicPartition, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  /** Waits for the batches in progress, then leaves the group. */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
