/**
 * The bounded replay reader: one topic's planned offset range `[start, end)` per partition, read in
 * the replay's own consumer group (the client has no manual assignment; a group of its own leaves
 * the live groups untouched and keeps the replay's progress as committed offsets). Every process
 * started with the same arguments joins that group: the group splits the partitions among them, a
 * dead one's partitions go to the others, which read on from the committed offsets. The plan is
 * agreed before joining (`plan`). It hands the pipeline only records inside the range, pauses a
 * partition once it passed its end, and settles `finished` when every partition is at its end as
 * the group's committed offsets say (read every `watchIntervalMs`): the whole plan, not only the
 * partitions this process was given. Like the group source it commits only through the pipeline,
 * except the end of a range whose last offsets hold only transaction markers or aborted records.
 *
 * A partition is past its end when a record at or after `end` was fetched (the batch's last offset
 * counts transaction markers and aborted records, which are never delivered), or when the client
 * skipped such records by itself (a fetch with no message).
 *
 * Records of the range the topic no longer has (retention, or a deleteRecords, took them before the
 * replay read them; the client then reads on from the log's start by itself) are reported through
 * `onDeleted`, never passed over in silence: looked for at start (a resumed replay), whenever a
 * fetch begins past the offset the reader expected (a gap is usually transaction markers or aborted
 * records; the log's start tells which), and by the watch on partitions held with nothing in flight
 * (no fetch comes once the log lost the rest of the range). A range the log lost entirely is
 * committed as ended.
 */
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
  /** The plan's ranges, agreed with the replay's other processes; asked once, before joining. */
  plan: () => Promise<readonly ReplayRange[]>;
  /**
   * The group's committed position of each planned partition (every process's commits), or
   * undefined when not known this time; rejects when the replay cannot go on (its plan changed).
   */
  committed: () => Promise<ReadonlyMap<number, bigint> | undefined>;
  /** How often `committed` is read until every partition is done (default 1000 ms). */
  watchIntervalMs?: number;
  /** Partitions processed at once; their messages share the batcher. */
  concurrency: number;
  /**
   * Most records handed to the pipeline at once (one transaction), asked before each chunk.
   * History comes in full fetches of thousands of records; bounding them keeps progress moving and
   * each claim-to-commit span short (a span longer than the dedup pending TTL could tag an id twice).
   */
  chunkRecords: () => number;
  admission?: Admission | undefined;
  /** A partition's committed position moved, by this process's commit or another's (for progress). */
  onPosition?: (partition: number, position: bigint) => void;
  /** This process committed `offsets` more of the partition (its share of the replay). */
  onOwnCommit?: (partition: number, offsets: bigint) => void;
  /** The planned partitions this process was given in a new group generation. */
  onAssigned?: (partitions: readonly number[]) => void;
  /** Offsets `[from, to)` of a partition's range were deleted from the topic before this replay read them. */
  onDeleted?: (partition: number, from: bigint, to: bigint) => void;
}

interface RangeState extends ReplayRange {
  done: boolean;
  /** The offset the next fetch of this partition should begin at, as far as this process read it. */
  expected: bigint;
  /** The log's start, as last looked up (a range it passed is reported deleted up to it). */
  logStart: bigint;
}

export class ReplaySource extends MemberSource {
  private ranges = new Map<number, RangeState>();
  private planned = false;
  private complete: (() => void) | undefined;
  /** Every partition is at its end in the group's committed offsets (resolves), or the replay cannot go on (rejects). */
  readonly finished: Promise<void>;
  private watchTimer: NodeJS.Timeout | undefined;
  private readonly topicEnds: Pick<KafkaAdmin, "partitionEnds">;
  /** The topic's partitions this process holds in the current generation. */
  private mine = new Set<number>();

  constructor(
    member: GroupMember,
    admin: Pick<KafkaAdmin, "committedOffsets" | "partitionEnds">,
    private readonly options: ReplaySourceOptions,
  ) {
    super(member, admin, options);
    this.topicEnds = admin;
    const completed = new Promise<void>((resolve) => {
      this.complete = resolve;
    });
    this.finished = Promise.race([completed, this.failed]);
    // Observed by whoever awaits it; never an unhandled rejection.
    this.finished.catch(() => {});
  }

  protected override subscription(): Subscription {
    return { topics: [this.options.topic], fromBeginning: true, concurrency: this.options.concurrency };
  }

  /** Agrees on the plan, joins the replay's group and starts reading; resolves once the first assignment arrived. */
  override async start(handler: ChunkHandler): Promise<void> {
    const ranges = await this.options.plan();
    this.ranges = new Map(
      ranges.map(
        (r) => [r.partition, { ...r, done: r.position >= r.end, expected: r.position, logStart: 0n }] as const,
      ),
    );
    // A resumed replay: what the log lost since its last run.
    const starts = await this.logStarts();
    for (const range of this.ranges.values()) {
      const low = starts?.get(range.partition);
      if (!range.done && low !== undefined) this.noteLogStart(range, range.position, low);
    }
    this.planned = true;
    this.checkFinished();
    this.watch();
    await super.start(handler);
  }

  override async stop(): Promise<void> {
    clearTimeout(this.watchTimer);
    await super.stop();
  }

  /** Reads the group's committed offsets until every partition is done: other processes' progress, and the end. */
  private watch(): void {
    const interval = this.options.watchIntervalMs ?? 1000;
    const tick = async () => {
      if (this.stopping || this.isFinished) return;
      try {
        const positions = await this.options.committed();
        for (const [partition, position] of positions ?? []) {
          const range = this.ranges.get(partition);
          if (range) this.advance(range, position);
        }
        await this.endRangesGone();
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      if (!this.stopping && !this.isFinished) this.watchTimer = setTimeout(tick, interval).unref();
    };
    // Unreferenced: the member's connections keep the process alive, the watch alone must not.
    this.watchTimer = setTimeout(tick, interval).unref();
  }

  /**
   * A partition of this process whose log lost the rest of its range (before this start, or while
   * it ran) may send no fetch to end it by (one that receives nothing newer): ended here, when
   * nothing of it is in flight.
   */
  private async endRangesGone(): Promise<void> {
    // Nothing in flight: all read is committed, or the range is known gone (nothing left to read).
    const idle = (r: RangeState) => !r.done && (r.expected <= r.position || r.logStart >= r.end);
    const waiting = [...this.mine]
      .map((p) => this.ranges.get(p))
      .filter((r): r is RangeState => r !== undefined && idle(r));
    if (waiting.length === 0) return;
    // Quiet: a broker away would say so every second; the next look tells.
    const starts = await this.logStarts({ quiet: true });
    for (const range of waiting) {
      const low = starts?.get(range.partition);
      if (low === undefined || low < range.end || !idle(range)) continue;
      // Said once (at start, or here); the end is committed until it holds.
      if (range.logStart < range.end) this.noteLogStart(range, range.position, low);
      await this.commitEnd(range);
    }
  }

  protected override afterJoin(assigned: TopicPartition[]): void {
    const { topic } = this.options;
    const mine = assigned.filter((tp) => tp.topic === topic).map((tp) => tp.partition);
    this.mine = new Set(mine);
    this.options.onAssigned?.(mine.filter((p) => this.ranges.has(p)).sort((a, b) => a - b));
    // Fetch nothing for partitions outside the plan or already past their end.
    const idle = mine.filter((p) => this.ranges.get(p)?.done !== false);
    if (idle.length > 0) this.member.pause(topic, idle);
  }

  protected override skipped({ topic, partition }: TopicPartition, lastOffset: string): void {
    // A fetch of only transaction markers or aborted records may be all that is left of a range.
    if (topic !== this.options.topic) return;
    const range = this.ranges.get(partition);
    if (range) range.expected = BigInt(lastOffset) + 1n;
    if (range && !range.done && BigInt(lastOffset) + 1n >= range.end) {
      void this.commitEnd(range);
    }
  }

  protected override async read(batch: FetchedBatch, handler: ChunkHandler): Promise<void> {
    const { options } = this;
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
      // Behind what the group committed (this process or another): the member re-read an offset
      // that did not show the latest transaction yet (after a rejoin or a retry). Going on would
      // tag records twice.
      options.log?.("replay read behind the committed offset; skipping ahead", {
        topic: batch.topic,
        partition: batch.partition,
        offset: first.offset,
        committed: range.position.toString(),
      });
      this.seek(batch, range.position.toString());
      return;
    }
    // What this process read, or what the group committed since (another process's work).
    const expected = later(range.expected, range.position);
    if (BigInt(first.offset) > expected) await this.lookForDeleted(range, expected, BigInt(first.offset));
    range.expected = BigInt(batch.lastOffset()) + 1n;
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
    { heartbeat, ended, handOut }: FetchChunks,
  ): Promise<void> {
    let i = 0;
    await handOut(handler, async () => {
      if (i >= inRange.length) return undefined;
      let n = Math.min(inRange.length - i, this.options.chunkRecords());
      if (this.options.admission) {
        n = await this.options.admission.admit(n, heartbeat, ended);
        if (n === 0) return undefined;
      }
      const messages = inRange.slice(i, i + n);
      const last = messages[messages.length - 1] as ConsumedRecord;
      const final = i + n >= inRange.length && reachesEnd;
      i += n;
      // The last chunk of a batch that reached the end commits the end itself: offsets between the
      // last record and the end hold only markers or aborted records.
      const nextOffset = final ? range.end : BigInt(last.offset) + 1n;
      return {
        chunk: {
          topic: this.options.topic,
          partition: range.partition,
          messages,
          highWatermark: batch.highWatermark,
          nextOffset: nextOffset.toString(),
          commitMetadata: range.metadata,
        },
        committed: () => {
          batch.resolveOffset(last.offset);
          // From the chunk's first record (the group's position may already show this very commit).
          this.options.onOwnCommit?.(range.partition, nextOffset - BigInt((messages[0] as ConsumedRecord).offset));
          this.advance(range, nextOffset);
        },
      };
    });
    if (inRange.length === 0 && reachesEnd) await this.commitEnd(range);
  }

  /**
   * The range's last offsets hold only transaction markers or aborted records: its end is
   * committed as such (no outputs go with it), so every process sees the partition done.
   */
  private async commitEnd(range: RangeState): Promise<void> {
    const { topic } = this.options;
    try {
      await this.member.commitOffsets([
        { topic, partition: range.partition, offset: range.end.toString(), metadata: range.metadata },
      ]);
    } catch (error) {
      // The partition went elsewhere meanwhile: its next owner reaches the end too.
      this.options.log?.("could not commit the end of a replay partition", {
        topic,
        partition: range.partition,
        reason: (error as Error).message,
      });
      return;
    }
    this.advance(range, range.end);
  }

  /** Each partition's log start offset now, or undefined when the broker could not say this time. */
  private async logStarts({ quiet = false } = {}): Promise<Map<number, bigint> | undefined> {
    try {
      const ends = await this.topicEnds.partitionEnds(this.options.topic);
      return new Map(ends.map((e) => [e.partition, BigInt(e.low)]));
    } catch (error) {
      if (!quiet) {
        this.options.log?.("could not read the log start of the replayed topic", {
          topic: this.options.topic,
          reason: (error as Error).message,
        });
      }
      return undefined;
    }
  }

  /** A fetch began at `to`, past `from`: markers and aborted records, or records deleted meanwhile? */
  private async lookForDeleted(range: RangeState, from: bigint, to: bigint): Promise<void> {
    const low = (await this.logStarts())?.get(range.partition);
    if (low !== undefined) this.noteLogStart(range, from, earlier(low, to));
  }

  /** The log begins at `low`: the range's offsets from `from` up to it are gone. */
  private noteLogStart(range: RangeState, from: bigint, low: bigint): void {
    if (low > range.logStart) range.logStart = low;
    // The client reads on from the log's start by itself: the gap up to it is reported once, here.
    if (low > range.expected) range.expected = low;
    const gone = { from: later(from, range.start), to: earlier(low, range.end) };
    if (gone.to > gone.from) this.options.onDeleted?.(range.partition, gone.from, gone.to);
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
    if (this.isFinished) {
      clearTimeout(this.watchTimer);
      this.complete?.();
    }
  }

  /** Whether every partition of the plan is at its end. */
  get isFinished(): boolean {
    return this.planned && [...this.ranges.values()].every((r) => r.done);
  }
}

/** The later and the earlier of two offsets (`Math.max` and `Math.min` take no bigint). */
const later = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const earlier = (a: bigint, b: bigint): bigint => (a < b ? a : b);
