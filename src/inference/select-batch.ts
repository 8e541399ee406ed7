/**
 * The rule that picks the next batch, on lengths already sorted. Pure and synchronous, so the
 * queue (`batch-queue.ts`) stays one loop and the rule can be tested on its own.
 */

export interface SelectLimits {
  maxBatchSize: number;
  maxBatchTokens: number;
  /** Shortest item ÷ longest item allowed in one batch (see `chooseRun`). */
  minFillRatio: number;
}

/**
 * The best run `[from, to]` of `lengths[lo..hi]` (ascending) that contains position `oldest` (the
 * oldest item, first of its length, so nothing starves) and fits: at most `maxBatchSize` items,
 * longest × count at most `maxBatchTokens`, and no item shorter than `minFillRatio` × the longest
 * (so padding never costs an item more than 1/minFillRatio of its own length; with 0.5 an item
 * joins only if it brings more real tokens than padding). A lone item always fits. The run with the
 * most items wins (fewer, fuller batches), then the one with the best real/padded ratio, then the
 * shortest (first found).
 *
 * Two pointers over at most `maxBatchSize` start positions: as the start moves right the largest
 * fitting end never moves left, so the cost is O(hi − lo), whatever the queue holds beyond.
 */
export function chooseRun(
  lengths: ArrayLike<number>,
  lo: number,
  hi: number,
  oldest: number,
  limits: SelectLimits,
): { from: number; to: number } {
  const len = (i: number): number => lengths[i] as number;
  const fits = (from: number, to: number): boolean => {
    const count = to - from + 1;
    return (
      count === 1 ||
      (count <= limits.maxBatchSize &&
        len(to) * count <= limits.maxBatchTokens &&
        len(from) >= limits.minFillRatio * len(to))
    );
  };
  // Real tokens of [from, to] as the pointers move, instead of a prefix array.
  let from = Math.max(lo, oldest - limits.maxBatchSize + 1);
  let to = oldest;
  let real = 0;
  for (let i = from; i <= to; i++) real += len(i);
  let best = { from: oldest, to: oldest, count: 1, ratio: 1 };
  for (; from <= oldest; real -= len(from), from++) {
    if (!fits(from, oldest)) continue;
    while (to + 1 <= hi && fits(from, to + 1)) real += len(++to);
    const count = to - from + 1;
    const ratio = real / (len(to) * count);
    if (count > best.count || (count === best.count && ratio > best.ratio)) best = { from, to, count, ratio };
  }
  return { from: best.from, to: best.to };
}

/**
 * The rule on a whole queue (arrival order: `queue[0]` is the oldest), sorting all of it: the tests'
 * reference for `BatchQueue`, which looks only at the oldest item's neighbours. Returns the batch
 * sorted by length; of equal lengths the earliest arrivals (ties in the queue go the same way).
 */
export function selectAmong<E extends { readonly tokens: number }>(queue: readonly E[], limits: SelectLimits): E[] {
  if (queue.length === 0) return [];
  const sorted = queue
    .map((entry, arrival) => ({ entry, arrival }))
    .sort((a, b) => a.entry.tokens - b.entry.tokens || a.arrival - b.arrival);
  const oldest = sorted.findIndex((s) => s.arrival === 0);
  const { from, to } = chooseRun(
    sorted.map((s) => s.entry.tokens),
    0,
    sorted.length - 1,
    oldest,
    limits,
  );
  // The run's lengths, each taken from the earliest arrivals of that length.
  const wanted = new Map<number, number>();
  for (let i = from; i <= to; i++) {
    const tokens = (sorted[i] as { entry: E }).entry.tokens;
    wanted.set(tokens, (wanted.get(tokens) ?? 0) + 1);
  }
  return sorted
    .filter(({ entry }) => {
      const left = wanted.get(entry.tokens) ?? 0;
      if (left === 0) return false;
      wanted.set(entry.tokens, left - 1);
      return true;
    })
    .map((s) => s.entry);
}
