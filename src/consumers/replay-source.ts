/**
 * The bounded replay reader: one topic's planned offset range `[start, end)` per partition, read in
 * the replay's own consumer group (kafkajs has no manual assignment; a group of its own leaves the
 * live groups untouched and keeps the replay's progress as committed offsets). It hands the
 * pipeline only records inside the range, pauses a partition once it passed its end, and settles
 * `finished` when every partition has. Like the group source it never commits on its own
 * initiative, except a new plan's starting offsets right after joining, so the plan is stored
 * before any record is read.
 *
 * A partition is past its end when a record at or after `end` was fetched (the batch's last offset
 * counts transaction markers and aborted records, which are never delivered), or when kafkajs
 * skipped such records by itself (`END_BATCH_PROCESS` of a batch with no message).
 */
import type { Admin, Consumer, KafkaMessage } from "kafkajs";
import { SentimentWorkerError } from "../errors/errors.js";
import { type SourceBatch, sourceBatch } from "./batch-controls.js";
import { Drain } from "./drain.js";
import type { PartitionSource, SourceHandlers, TopicPartition } from "./partition-source.js";

export interface ReplayRange {
  partition: number;
  start: bigint;
  /** Exclusive. */
  end: bigint;
  /** Next offset known processed at start-up: the group's committed offset, or `start`. */
  position: bigint;
  /** Metadata committed with every offset of this partition (the stored plan). */
  metadata: string;
}

/** The rate limit: how many of `wanted` records may be read now (0 once `cancelled()`). */
export interface Admission {
  admit(wanted: number, keepAlive: () => Promise<void>, cancelled: () => boolean): Promise<number>;
}

export interface ReplaySourceOptions {
  groupId: string;
  topic: string;
  ranges: readonly ReplayRange[];
  /** Partitions processed at once; their messages share the batcher. */
  concurrency: number;
  /**
   * Most records handed to the pipeline at once (one transaction). History comes in full fetches
   * of thousands of records; bounding them keeps progress moving and each claim-to-commit span
   * short (a span longer than the dedup pending TTL could tag an id twice).
   */
  maxBatchRecords: number;
  /** A new plan: commit each range's start with its metadata after joining, before reading. */
  storePlan: boolean;
  admission?: Admission | undefined;
  log?: ((message: string) => void) | undefined;
  /** The read position of a partition moved (for progress). */
  onPosition?: (partition: number, position: bigint) => void;
  /** How long chunks in flight may run once a stop or rebalance began (`kafka.drainTimeoutMs`). */
  drainTimeoutMs: number;
}

interface RangeState extends ReplayRange {
  done: boolean;
}

export class ReplaySource implements PartitionSource {
  private readonly ranges: Map<number, RangeState>;
  private settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** Every partition passed its end (resolves), or the replay cannot go on (rejects). */
  readonly finished: Promise<void>;
  private planStored: Promise<void> = Promise.resolve();
  private readonly drain: Drain;
  private stopping = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly admin: Admin,
    private readonly options: ReplaySourceOptions,
  ) {
    this.drain = new Drain(options.drainTimeoutMs);
    this.ranges = new Map(
      options.ranges.map((r) => [r.partition, { ...r, done: r.position >= r.end }] as [number, RangeState]),
    );
    this.finished = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Observed by whoever awaits it; never an unhandled rejection.
    this.finished.catch(() => {});
    this.checkFinished();
  }

  /** Joins the replay's group and starts reading; resolves once the first assignment arrived. */
  async start(handlers: SourceHandlers): Promise<void> {
    const { consumer, options } = this;
    let joined: () => void = () => {};
    const firstJoin = new Promise<void>((resolve) => {
      joined = resolve;
    });
    let storePlan: () => void = () => {};
    this.planStored = new Promise<void>((resolve) => {
      storePlan = resolve;
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assigned = Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      );
      const mine = new Set(assigned.filter((tp) => tp.topic === options.topic).map((tp) => tp.partition));
      const elsewhere = [...this.ranges.values()].filter((r) => !r.done && !mine.has(r.partition));
      if (elsewhere.length > 0) {
        // Another live member took part of the range: two processes would each wait for the other.
        this.fail(
          new SentimentWorkerError(
            `another process is running replay ${options.groupId} (it was given partitions ${elsewhere.map((r) => r.partition).join(", ")}): stop one of them`,
          ),
        );
      }
      this.drain.joined();
      handlers.onAssignment(assigned);
      // Fetch nothing for partitions outside the plan or already past their end.
      const idle = [...mine].filter((p) => this.ranges.get(p)?.done !== false);
      if (idle.length > 0) consumer.pause([{ topic: options.topic, partitions: idle }]);
      joined();
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { topic, partition, batchSize, firstOffset, lastOffset } = event.payload;
      // A fetch of only transaction markers or aborted records: kafkajs moved past it without
      // calling eachBatch, and that may be all that is left of a range.
      if (topic !== options.topic || batchSize !== 0 || firstOffset === null) return;
      const range = this.ranges.get(partition);
      if (range && !range.done) this.advance(range, BigInt(lastOffset) + 1n);
    });
    consumer.on(consumer.events.REBALANCING, () => this.drain.begin("rebalance"));
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart && !this.stopping) this.fail(event.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.concurrency,
      eachBatch: async (payload) => {
        const { batch, resolveOffset } = payload;
        await this.planStored;
        const range = this.ranges.get(batch.partition);
        const first = batch.messages[0];
        if (batch.topic !== options.topic || range === undefined || range.done) {
          this.pause(batch.partition);
          return;
        }
        if (first === undefined) return;
        if (BigInt(first.offset) < range.start) {
          // Fetched from the log's start (no commit yet when kafkajs looked): go to the range.
          this.seek(batch, range.start.toString());
          return;
        }
        if (BigInt(first.offset) < range.position) {
          // Behind what this process committed itself: kafkajs re-read an offset that did not show
          // our latest transaction yet (after a rejoin or a retry). Going on would tag records twice.
          options.log?.(
            `partition ${batch.partition}: read from ${first.offset}, behind this replay's commit at ${range.position}; skipping ahead`,
          );
          this.seek(batch, range.position.toString());
          return;
        }
        const inRange = batch.messages.filter((m) => BigInt(m.offset) < range.end);
        const reachesEnd = BigInt(batch.lastOffset()) >= range.end - 1n;
        const fetched = sourceBatch(payload, this.drain);
        await this.process(handlers, range, batch.highWatermark, inRange, reachesEnd, fetched, resolveOffset);
      },
    });
    // A refused join fails the replay (through `finished`) instead of waiting for ever.
    await Promise.race([firstJoin, this.finished.then(() => firstJoin)]);
    try {
      if (options.storePlan) {
        // One OffsetCommit for every partition: the plan is stored whole or not at all.
        await consumer.commitOffsets(
          [...this.ranges.values()].map((r) => ({
            topic: options.topic,
            partition: r.partition,
            offset: r.start.toString(),
            metadata: r.metadata,
          })),
        );
      }
    } finally {
      // On failure start() rejects and the replay stops; batches waiting for the plan must not hang.
      storePlan();
    }
  }

  /**
   * Hands the in-range records to the pipeline in chunks (bounded, and as the rate limit admits),
   * one transaction each. Each committed chunk is resolved at once: should a later chunk fail,
   * kafkajs reads again after the last commit, not from the batch's start (which would repeat it).
   */
  private async process(
    handlers: SourceHandlers,
    range: RangeState,
    highWatermark: string,
    inRange: KafkaMessage[],
    reachesEnd: boolean,
    { controls: control, ended, beforeChunk }: SourceBatch,
    resolveOffset: (offset: string) => void,
  ): Promise<void> {
    for (let i = 0; i < inRange.length; ) {
      if (!(await beforeChunk(i))) return;
      let n = Math.min(inRange.length - i, this.options.maxBatchRecords);
      if (this.options.admission) {
        n = await this.options.admission.admit(n, control.heartbeat, ended);
        if (n === 0) return;
      }
      const messages = inRange.slice(i, i + n);
      const last = messages[messages.length - 1] as KafkaMessage;
      const final = i + n >= inRange.length && reachesEnd;
      // The last chunk of a batch that reached the end commits the end itself: offsets between the
      // last record and the end hold only markers or aborted records.
      const nextOffset = final ? range.end : BigInt(last.offset) + 1n;
      const outcome = await handlers.handle({
        topic: this.options.topic,
        partition: range.partition,
        messages,
        highWatermark,
        ...control,
        nextOffset: nextOffset.toString(),
        commitMetadata: range.metadata,
      });
      if (outcome !== "processed") return;
      resolveOffset(last.offset);
      this.advance(range, nextOffset);
      i += n;
    }
    if (inRange.length === 0 && reachesEnd) this.advance(range, range.end);
  }

  /** The partition was read up to `position` (committed, or only markers and aborted records before it). */
  private advance(range: RangeState, position: bigint): void {
    const next = position > range.end ? range.end : position;
    if (next <= range.position && !(next >= range.end && !range.done)) return;
    if (next > range.position) range.position = next;
    this.options.onPosition?.(range.partition, range.position);
    if (range.position >= range.end && !range.done) {
      range.done = true;
      this.pause(range.partition);
      this.checkFinished();
    }
  }

  private pause(partition: number): void {
    this.consumer.pause([{ topic: this.options.topic, partitions: [partition] }]);
  }

  private checkFinished(): void {
    if ([...this.ranges.values()].every((r) => r.done)) this.settle?.resolve();
  }

  private fail(error: Error): void {
    this.settle?.reject(error);
  }

  /** Whether every partition passed its end. */
  get isFinished(): boolean {
    return [...this.ranges.values()].every((r) => r.done);
  }

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
