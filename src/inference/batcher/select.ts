/**
 * Which queued items form the next batch. Pure and synchronous, so the batcher stays one loop
 * and the rule can be tested on its own.
 */

export interface SelectLimits {
  maxBatchSize: number;
  maxBatchTokens: number;
  /** Shortest item ÷ longest item allowed in one batch (see `selectBatch`). */
  minFillRatio: number;
}

/**
 * Picks the next batch from `queue` (arrival order: `queue[0]` is the oldest) and returns it
 * sorted by token length.
 *
 * The rule: sort the queue by length (ties by arrival) and look at every run of neighbouring
 * lengths that contains the oldest item (so nothing starves) and fits: at most `maxBatchSize`
 * items, longest × count at most `maxBatchTokens`, and no item shorter than `minFillRatio` × the
 * longest (so padding never costs an item more than 1/minFillRatio of its own length; with 0.5 an
 * item joins only if it brings more real tokens than padding). A lone item always fits. The run
 * with the most items wins (fewer, fuller batches), then the one with the best real/padded ratio,
 * then the shortest (first found).
 *
 * Cost: one O(n log n) sort, then two pointers over at most `maxBatchSize` start positions: as
 * the start moves right the largest fitting end never moves left.
 */
export function selectBatch<E extends { readonly tokens: number }>(queue: readonly E[], limits: SelectLimits): E[] {
  const sorted = queue
    .map((entry, arrival) => ({ entry, arrival }))
    .sort((a, b) => a.entry.tokens - b.entry.tokens || a.arrival - b.arrival);
  const len = (i: number): number => sorted[i]?.entry.tokens ?? 0;
  const oldest = sorted.findIndex((s) => s.arrival === 0);
  if (oldest < 0) return [];

  const prefix = [0]; // prefix[i] = real tokens of sorted[0..i)
  for (let i = 0; i < sorted.length; i++) prefix.push((prefix[i] ?? 0) + len(i));
  const fits = (from: number, to: number): boolean => {
    const count = to - from + 1;
    return (
      count === 1 ||
      (count <= limits.maxBatchSize &&
        len(to) * count <= limits.maxBatchTokens &&
        len(from) >= limits.minFillRatio * len(to))
    );
  };

  let best = { from: oldest, to: oldest, count: 1, ratio: 1 };
  let to = oldest;
  for (let from = Math.max(0, oldest - limits.maxBatchSize + 1); from <= oldest; from++) {
    if (!fits(from, oldest)) continue;
    while (to + 1 < sorted.length && fits(from, to + 1)) to++;
    const count = to - from + 1;
    const ratio = ((prefix[to + 1] ?? 0) - (prefix[from] ?? 0)) / (len(to) * count);
    if (count > best.count || (count === best.count && ratio > best.ratio)) best = { from, to, count, ratio };
  }
  return sorted.slice(best.from, best.to + 1).map((s) => s.entry);
}
