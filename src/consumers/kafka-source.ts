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
  /** The partition's end offset when fetched (for the lag metric). */
  highWatermark: string;
  /** Keeps this member in the group while long work runs (kafkajs has no background heartbeat). */
  heartbeat(): Promise<void>;
  /** A rebalance or seek made this batch obsolete: abandon it uncommitted. */
  isStale(): boolean;
  isRunning(): boolean;
  /** Offset to commit once the batch is processed; default: the last message's + 1 (a replay's end may lie past it). */
  nextOffset?: string;
  /** Offset-commit metadata to store with the commit (a replay keeps its plan there). */
  commitMetadata?: string;
}

/** What the pipeline asks of a source besides batches: the group's offsets and the read position. */
export interface PartitionSource {
  /** The group's committed offset of a partition, or undefined when nothing was committed yet. */
  committedOffset(tp: TopicPartition): Promise<string | undefined>;
  /** Moves the read position; batches fetched before become stale. */
  seek(tp: TopicPartition, offset: string): void;
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
  /**
   * Most records handed to the pipeline at once. A fetch of a backlog holds thousands of posts;
   * bounded chunks keep each transaction (and each Redis claim) short and let one commit while
   * the next is inferred.
   */
  maxBatchRecords: number;
  fromBeginning: boolean;
}

export class KafkaSource implements PartitionSource {
  private joined = false;
  private crashed: ((error: Error) => void) | undefined;
  /** Rejects when the consumer crashed for good (kafkajs gave up restarting it). */
  readonly failed = new Promise<never>((_, reject) => {
    this.crashed = reject;
  });

  constructor(
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly options: KafkaSourceOptions,
  ) {
    // Observed by whoever awaits it; never an unhandled rejection.
    this.failed.catch(() => {});
  }

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
      this.joined = true;
      joined();
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.joined = false;
    });
    consumer.on(consumer.events.STOP, () => {
      this.joined = false;
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.joined = false;
      // kafkajs restarts after retriable errors; otherwise the worker is dead and must say so.
      if (!event.payload.restart) this.crashed?.(event.payload.error);
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
        const { messages } = batch;
        for (let i = 0; i < messages.length; i += options.maxBatchRecords) {
          const chunk = messages.slice(i, i + options.maxBatchRecords);
          const outcome = await handlers.handle({
            topic: batch.topic,
            partition: batch.partition,
            messages: chunk,
            highWatermark: batch.highWatermark,
            heartbeat,
            isStale,
            isRunning,
          });
          if (outcome !== "processed") return;
          // Moves kafkajs's read position only (what is committed is the sink's business): should a
          // later chunk be abandoned, the next fetch starts after this one, not at the batch's start.
          resolveOffset((chunk[chunk.length - 1] as KafkaMessage).offset);
        }
      },
    });
    await firstJoin;
  }

  /** In the group with an assignment (for readiness). */
  get inGroup(): boolean {
    return this.joined;
  }

  /** The group's committed offset of a partition, or undefined when nothing was committed yet. */
  async committedOffset({ topic, partition }: TopicPartition): Promise<string | undefined> {
    const [entry] = await this.admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] });
    const offset = entry?.partitions.find((p) => p.partition === partition)?.offset;
    return offset === undefined || offset === "-1" ? undefined : offset;
  }

  /** Commits the offset of the next record to read (at-least-once mode, after the outputs were acknowledged). */
  commitOffset({ topic, partition }: TopicPartition, nextOffset: string, metadata?: string): Promise<void> {
    return this.consumer.commitOffsets([{ topic, partition, offset: nextOffset, metadata: metadata ?? null }]);
  }

  seek({ topic, partition }: TopicPartition, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  /** Waits for the batches in progress, then leaves the group. */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
