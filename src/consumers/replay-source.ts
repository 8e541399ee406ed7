/**
 * The bounded replay reader: one topic's planned offset range `[start, end)` per partition, read in
 * the replay's own consumer group (the client has no manual assignment; a group of its own leaves
 * the live groups untouched and keeps the replay's progress as committed offsets). It hands the
 * pipeline only records inside the range, pauses a partition once it passed its end, and settles
 * `finished` when every partition has. Like the group source it never commits on its own
 * initiative, except a new plan's starting offsets right after joining, so the plan is stored
 * before any record is read.
 *
 * A partition is past its end when a record at or after `end` was fetched (the batch's last offset
 * counts transaction markers and aborted records, which are never delivered), or when the client
 * skipped such records by itself (a fetch with no message).
 */
import { SentimentWorkerError } from "../errors/errors.js";
import type {
  ConsumedRecord,
  FetchedBatch,
  GroupMember,
  KafkaAdmin,
  Subscription,
  TopicPartition,
} from "../kafka/client.js";
import type { FetchChunks } from "./chunk-controls.js";
import type { ChunkHandler } from "./chunk-source.js";
import { MemberSource, type MemberSourceOptions } from "./member-source.js";

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

export interface ReplaySourceOptions extends MemberSourceOptions {
  topic: string;
  ranges: readonly ReplayRange[];
  /** Partitions processed at once; their messages share the batcher. */
  concurrency: number;
  /**
   * Most records handed to the pipeline at once (one transaction), asked before each chunk.
   * History comes in full fetches of thousands of records; bounding them keeps progress moving and
   * each claim-to-commit span short (a span longer than the dedup pending TTL could tag an id twice).
   */
  chunkRecords: () => number;
  /** A new plan: commit each range's start with its metadata after joining, before reading. */
  storePlan: boolean;
  admission?: Admission | undefined;
  /** The read position of a partition moved (for progress). */
  onPosition?: (partition: number, position: bigint) => void;
}

interface RangeState extends ReplayRange {
  done: boolean;
}

export class ReplaySource extends MemberSource {
  private readonly ranges: Map<number, RangeState>;
  private complete: (() => void) | undefined;
  /** Every partition passed its end (resolves), or the replay cannot go on (rejects). */
  readonly finished: Promise<void>;
  private storePlan: () => void = () => {};
  /** Batches wait for it: the plan is committed before any record is read. */
  private readonly planStored = new Promise<void>((resolve) => {
    this.storePlan = resolve;
  });

  constructor(
    member: GroupMember,
    admin: Pick<KafkaAdmin, "committedOffsets">,
    private readonly options: ReplaySourceOptions,
  ) {
    super(member, admin, options);
    this.ranges = new Map(
      options.ranges.map((r) => [r.partition, { ...r, done: r.position >= r.end }] as [number, RangeState]),
    );
    const completed = new Promise<void>((resolve) => {
      this.complete = resolve;
    });
    this.finished = Promise.race([completed, this.failed]);
    // Observed by whoever awaits it; never an unhandled rejection.
    this.finished.catch(() => {});
    this.checkFinished();
  }

  protected override subscription(): Subscription {
    return { topics: [this.options.topic], fromBeginning: true, concurrency: this.options.concurrency };
  }

  /** Joins the replay's group and starts reading; resolves once the first assignment arrived. */
  override async start(handler: ChunkHandler): Promise<void> {
    try {
      await super.start(handler);
      if (this.options.storePlan) {
        // One OffsetCommit for every partition: the plan is stored whole or not at all.
        await this.member.commitOffsets(
          [...this.ranges.values()].map((r) => ({
            topic: this.options.topic,
            partition: r.partition,
            offset: r.start.toString(),
            metadata: r.metadata,
          })),
        );
      }
    } finally {
      // On failure start() rejects and the replay stops; batches waiting for the plan must not hang.
      this.storePlan();
    }
  }

  protected override afterJoin(assigned: TopicPartition[]): void {
    const { topic, groupId } = this.options;
    const mine = new Set(assigned.filter((tp) => tp.topic === topic).map((tp) => tp.partition));
    const elsewhere = [...this.ranges.values()].filter((r) => !r.done && !mine.has(r.partition));
    if (elsewhere.length > 0) {
      // Another live member took part of the range: two processes would each wait for the other.
      this.fail(
        new SentimentWorkerError(
          `another process is running replay ${groupId} (it was given partitions ${elsewhere.map((r) => r.partition).join(", ")}): stop one of them`,
        ),
      );
    }
    // Fetch nothing for partitions outside the plan or already past their end.
    const idle = [...mine].filter((p) => this.ranges.get(p)?.done !== false);
    if (idle.length > 0) this.member.pause(topic, idle);
  }

  protected override skipped({ topic, partition }: TopicPartition, lastOffset: string): void {
    // A fetch of only transaction markers or aborted records may be all that is left of a range.
    if (topic !== this.options.topic) return;
    const range = this.ranges.get(partition);
    if (range && !range.done) this.advance(range, BigInt(lastOffset) + 1n);
  }

  protected override async read(batch: FetchedBatch, handler: ChunkHandler): Promise<void> {
    const { options } = this;
    await this.planStored;
    const range = this.ranges.get(batch.partition);
    const first = batch.records[0];
    if (batch.topic !== options.topic || range === undefined || range.done) {
      this.pause(batch.partition);
      return;
    }
    if (first === undefined) return;
    if (BigInt(first.offset) < range.start) {
      // Fetched from the log's start (no commit yet when the member looked): go to the range.
      this.seek(batch, range.start.toString());
      return;
    }
    if (BigInt(first.offset) < range.position) {
      // Behind what this process committed itself: the member re-read an offset that did not show
      // our latest transaction yet (after a rejoin or a retry). Going on would tag records twice.
      options.log?.("replay read behind its own commit; skipping ahead", {
        topic: batch.topic,
        partition: batch.partition,
        offset: first.offset,
        committed: range.position.toString(),
      });
      this.seek(batch, range.position.toString());
      return;
    }
    const inRange = batch.records.filter((m) => BigInt(m.offset) < range.end);
    const reachesEnd = BigInt(batch.lastOffset()) >= range.end - 1n;
    await this.process(handler, range, batch, inRange, reachesEnd, this.controlsOf(batch));
  }

  /**
   * Hands the in-range records to the pipeline in chunks (bounded, and as the rate limit admits),
   * one transaction each. Each committed chunk is resolved at once: should a later chunk fail,
   * kafkajs reads again after the last commit, not from the batch's start (which would repeat it).
   */
  private async process(
    handler: ChunkHandler,
    range: RangeState,
    batch: FetchedBatch,
    inRange: ConsumedRecord[],
    reachesEnd: boolean,
    { controls: control, heartbeat, ended, beforeChunk, handle }: FetchChunks,
  ): Promise<void> {
    for (let i = 0; i < inRange.length; ) {
      if (!(await beforeChunk(i))) return;
      let n = Math.min(inRange.length - i, this.options.chunkRecords());
      if (this.options.admission) {
        n = await this.options.admission.admit(n, heartbeat, ended);
        if (n === 0) return;
      }
      const messages = inRange.slice(i, i + n);
      const last = messages[messages.length - 1] as ConsumedRecord;
      const final = i + n >= inRange.length && reachesEnd;
      // The last chunk of a batch that reached the end commits the end itself: offsets between the
      // last record and the end hold only markers or aborted records.
      const nextOffset = final ? range.end : BigInt(last.offset) + 1n;
      const outcome = await handle(handler, {
        topic: this.options.topic,
        partition: range.partition,
        messages,
        highWatermark: batch.highWatermark,
        ...control,
        nextOffset: nextOffset.toString(),
        commitMetadata: range.metadata,
      });
      if (outcome !== "processed") return;
      batch.resolveOffset(last.offset);
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
    this.member.pause(this.options.topic, [partition]);
  }

  private checkFinished(): void {
    if ([...this.ranges.values()].every((r) => r.done)) this.complete?.();
  }

  /** Whether every partition passed its end. */
  get isFinished(): boolean {
    return [...this.ranges.values()].every((r) => r.done);
  }
}
