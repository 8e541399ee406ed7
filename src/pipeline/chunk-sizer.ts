/**
 * How many records of a partition go into one chunk — one Redis claim, one pass through the model,
 * one transaction. Fixed chunks are wrong both ways: 256 records is 35 s of work for the CPU model
 * (a rebalance abandons it) and a transaction per 256 records for a fast one (the broker's work per
 * transaction then costs more than the records). So the size follows what a chunk took: it aims at
 * `targetMs` per chunk, the partitions sharing the model included, between `min` and `max` records.
 */
export interface ChunkSizerOptions {
  /** What one chunk should take, claim to commit. */
  targetMs: number;
  min: number;
  max: number;
  /** Before anything was measured. */
  initial: number;
}

/**
 * A chunk at most grows this much at once: one fast chunk (a warm cache, a short fetch) is not a
 * trend. Four, not two: from the first 16 records a fast device is fed full batches after two
 * rounds of chunks instead of four (with two, the e2e bench's 20 ms device idled through the
 * first half second of a backlog: docs/benchmarks.md).
 */
const MAX_GROWTH = 4;

export class ChunkSizer {
  private current: number;

  constructor(private readonly options: ChunkSizerOptions) {
    this.current = clamp(options.initial, options.min, options.max);
  }

  /** The size of the next chunk. */
  get size(): number {
    return this.current;
  }

  /**
   * A chunk of `records` took `ms`. The next size is what would have taken the target at that
   * pace, halfway there (geometric mean, so one odd chunk moves it little), never more than quadrupled.
   */
  record(records: number, ms: number): void {
    if (records <= 0) return;
    const { targetMs, min, max } = this.options;
    const fitting = (records * targetMs) / Math.max(ms, 1);
    // A short chunk (the fetch had no more) that was fast says nothing against a larger size.
    if (records < this.current && fitting > this.current) return;
    const next = Math.min(Math.sqrt(this.current * fitting), this.current * MAX_GROWTH);
    this.current = clamp(Math.round(next), min, max);
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
