/**
 * The Kafka consumer group as a source. kafkajs delivers one partition's batch at a time
 * (`eachBatch`); several partitions run concurrently so their messages meet in the one batcher.
 * Offsets are never committed here on the source's own initiative: the pipeline commits them
 * through the sink (in the output transaction) or through `commitOffset` after the outputs were
 * acknowledged. The pipeline gets controls, never the client.
 */
import type { Admin, Consumer, KafkaMessage } from "kafkajs";
import { ConfigError, GroupJoinError } from "../errors/errors.js";
import { kafkaErrorType } from "../kafka/errors.js";
import { sourceBatch } from "./batch-controls.js";
import { Drain } from "./drain.js";
import type { PartitionSource, SourceHandlers, TopicPartition } from "./partition-source.js";

export interface KafkaSourceOptions {
  groupId: string;
  topics: readonly string[];
  pattern?: string | undefined;
  /** Partitions processed at once; their messages share the batcher. */
  concurrency: number;
  /**
   * Most records handed to the pipeline at once. A fetch of a backlog holds thousands of posts;
   * bounded chunks keep each transaction (and each Redis claim) short, let one commit while the
   * next is inferred, and let a stop or rebalance end the batch after the chunk in flight.
   */
  maxBatchRecords: number;
  fromBeginning: boolean;
  /** How long chunks in flight may run once a stop or rebalance began (`kafka.drainTimeoutMs`). */
  drainTimeoutMs: number;
  /** The settings a refused join is explained with. */
  sessionTimeoutMs: number;
  log?: ((message: string) => void) | undefined;
}

export class KafkaSource implements PartitionSource {
  private joined = false;
  private stopping = false;
  private crashed: ((error: Error) => void) | undefined;
  private readonly drain: Drain;
  /** Rejects when the consumer crashed for good (kafkajs gave up restarting it). */
  readonly failed = new Promise<never>((_, reject) => {
    this.crashed = reject;
  });

  constructor(
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly options: KafkaSourceOptions,
  ) {
    this.drain = new Drain(options.drainTimeoutMs);
    // Observed by whoever awaits it; never an unhandled rejection.
    this.failed.catch(() => {});
  }

  /**
   * Joins the group and starts consuming; resolves once the first assignment arrived, rejects when
   * the broker refuses the join (a setting it rejects, a missing ACL) instead of waiting for ever.
   */
  async start(handlers: SourceHandlers): Promise<void> {
    const { consumer, options } = this;
    let joined: () => void = () => {};
    const firstJoin = new Promise<void>((resolve) => {
      joined = resolve;
    });
    let lastCrash = "";
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assigned = Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      );
      this.drain.joined();
      handlers.onAssignment(assigned);
      this.joined = true;
      lastCrash = "";
      joined();
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.joined = false;
      this.drain.begin("rebalance");
    });
    consumer.on(consumer.events.STOP, () => {
      this.joined = false;
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.joined = false;
      const { error, restart } = event.payload;
      // kafkajs restarts after retriable errors; otherwise the worker is dead and must say so
      // (unless it is being stopped, when no restart is wanted).
      if (!restart) {
        if (!this.stopping) this.crashed?.(explainJoinError(error, options));
        return;
      }
      // Said once per distinct reason, so a broker that stays away does not flood the logs.
      if (error.message !== lastCrash) options.log?.(`the Kafka consumer failed and restarts: ${error.message}`);
      lastCrash = error.message;
    });
    await consumer.connect();
    const topics: (string | RegExp)[] = [...options.topics];
    if (options.pattern) topics.push(new RegExp(options.pattern));
    await consumer.subscribe({ topics, fromBeginning: options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.concurrency,
      eachBatch: async (payload) => {
        const { batch, resolveOffset } = payload;
        const { controls, beforeChunk } = sourceBatch(payload, this.drain);
        const { messages } = batch;
        for (let i = 0; i < messages.length; i += options.maxBatchRecords) {
          if (!(await beforeChunk(i))) return;
          const chunk = messages.slice(i, i + options.maxBatchRecords);
          const outcome = await handlers.handle({
            topic: batch.topic,
            partition: batch.partition,
            messages: chunk,
            highWatermark: batch.highWatermark,
            ...controls,
          });
          if (outcome !== "processed") return;
          // Moves kafkajs's read position only (what is committed is the sink's business): should a
          // later chunk be abandoned, the next fetch starts after this one, not at the batch's start.
          resolveOffset((chunk[chunk.length - 1] as KafkaMessage).offset);
        }
      },
    });
    await Promise.race([firstJoin, this.failed]);
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

  seek({ topic, partition }: TopicPartition, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  /** Ends each batch after its chunk in flight (abandoned after the drain timeout), then leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.drain.begin("stop");
    await this.consumer.disconnect();
  }
}

/** A consumer crash that kafkajs will not restart, said in terms of our settings where the cause is one. */
export function explainJoinError(
  error: Error,
  options: Pick<KafkaSourceOptions, "groupId" | "topics" | "pattern" | "sessionTimeoutMs">,
): Error {
  const reason = error.message;
  switch (kafkaErrorType(error)) {
    case "INVALID_SESSION_TIMEOUT":
      return new ConfigError([
        {
          path: "kafka.sessionTimeoutMs",
          reason: `the broker refused ${options.sessionTimeoutMs} ms: it must lie within the broker's group.min.session.timeout.ms and group.max.session.timeout.ms (${reason})`,
        },
      ]);
    case "GROUP_AUTHORIZATION_FAILED":
      return new ConfigError([
        {
          path: "kafka.groupId",
          reason: `not authorised to join group ${options.groupId}: grant this principal Read on the group (${reason})`,
        },
      ]);
    case "TOPIC_AUTHORIZATION_FAILED":
      return new ConfigError([
        {
          path: options.pattern && options.topics.length === 0 ? "kafka.inputPattern" : "kafka.inputTopics",
          reason: `not authorised to read the input topics: grant this principal Read and Describe on them (${reason})`,
        },
      ]);
    default:
      return new GroupJoinError(`the Kafka consumer of group ${options.groupId} stopped: ${reason}`, {
        cause: error,
      });
  }
}
