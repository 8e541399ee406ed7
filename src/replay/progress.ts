/**
 * Where a replay stands: records done out of the plan's total (counted in offsets, so 100% is
 * exactly every partition at its end) by every process of the replay (from the group's committed
 * offsets), the recent rate, the time left, the partition that holds the replay up (most records
 * left), and this process's share. Pure bookkeeping; `progress-reporter.ts` draws it.
 */
import type { PlannedPartition } from "./replay-plan.js";

export interface ProgressSnapshot {
  done: number;
  total: number;
  /** 0-100, one decimal; 100 only when every partition reached its end. */
  percent: number;
  /** Records per second over the last few seconds of this run. */
  recordsPerSecond: number;
  /** Seconds left at that rate; undefined while there is no rate yet. */
  etaSeconds: number | undefined;
  partitionsDone: number;
  partitions: number;
  /** The partition with the most records left (undefined when all are done). */
  slowest: { partition: number; remaining: number; percent: number } | undefined;
  elapsedSeconds: number;
  /** This process's share: records (offsets) of the chunks it committed, and the partitions it holds now. */
  process: { done: number; partitions: number[] };
  /**
   * Offsets of the range the topic no longer had when this process came to read them (retention or
   * a deleteRecords took them): counted in `done`, never tagged.
   */
  deleted: number;
}

interface Sample {
  at: number;
  done: number;
}

/** Rate window: long enough to smooth batch-sized steps, short enough to follow a change. */
const WINDOW_MS = 10_000;

export class ReplayProgress {
  private readonly partitions: Map<number, { start: bigint; end: bigint; position: bigint }>;
  private readonly startedAt = performance.now();
  private samples: Sample[] = [];
  private own = 0n;
  private gone = 0n;
  private holding: number[] = [];

  constructor(planned: readonly PlannedPartition[]) {
    this.partitions = new Map(planned.map((p) => [p.partition, { start: p.start, end: p.end, position: p.position }]));
    this.samples.push({ at: this.startedAt, done: this.doneCount() });
  }

  /** The partition's read position moved to `position` (never backwards). */
  advance(partition: number, position: bigint): void {
    const p = this.partitions.get(partition);
    if (!p || position <= p.position) return;
    p.position = position > p.end ? p.end : position;
    const now = performance.now();
    this.samples.push({ at: now, done: this.doneCount() });
    // Keep one sample older than the window so the rate spans all of it.
    while (this.samples.length > 2 && (this.samples[1] as Sample).at < now - WINDOW_MS) this.samples.shift();
  }

  /** This process committed `offsets` more of a partition. */
  ownCommit(_partition: number, offsets: bigint): void {
    if (offsets > 0n) this.own += offsets;
  }

  /** Offsets `[from, to)` of a partition's range were deleted before this process read them. */
  deleted(_partition: number, from: bigint, to: bigint): void {
    if (to > from) this.gone += to - from;
  }

  /** The planned partitions this process holds now (a new group generation). */
  assigned(partitions: readonly number[]): void {
    this.holding = [...partitions];
  }

  private doneCount(): number {
    let done = 0n;
    for (const p of this.partitions.values()) done += p.position - p.start;
    return Number(done);
  }

  snapshot(): ProgressSnapshot {
    const now = performance.now();
    let total = 0n;
    let slowest: ProgressSnapshot["slowest"];
    let partitionsDone = 0;
    for (const [partition, p] of this.partitions) {
      total += p.end - p.start;
      const remaining = Number(p.end - p.position);
      if (remaining === 0) partitionsDone++;
      else if (slowest === undefined || remaining > slowest.remaining) {
        const size = Number(p.end - p.start);
        slowest = { partition, remaining, percent: round1((100 * (size - remaining)) / size) };
      }
    }
    const done = this.doneCount();
    const totalN = Number(total);
    const oldest = this.samples[0] as Sample;
    const spanS = (now - oldest.at) / 1000;
    const recordsPerSecond = spanS > 0 ? (done - oldest.done) / spanS : 0;
    const remaining = totalN - done;
    // 100% means finished: rounding must not show it a record early.
    const percent = totalN === 0 ? 100 : remaining === 0 ? 100 : Math.min(99.9, round1((100 * done) / totalN));
    return {
      done,
      total: totalN,
      percent,
      recordsPerSecond: Math.round(recordsPerSecond),
      etaSeconds: remaining === 0 ? 0 : recordsPerSecond > 0 ? Math.ceil(remaining / recordsPerSecond) : undefined,
      partitionsDone,
      partitions: this.partitions.size,
      slowest,
      elapsedSeconds: round1((now - this.startedAt) / 1000),
      process: { done: Number(this.own), partitions: [...this.holding] },
      deleted: Number(this.gone),
    };
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
