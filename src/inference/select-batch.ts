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
 * Cost: every run that can win lies within `maxBatchSize - 1` places of the oldest item in that
 * order, so one pass over the queue picks those neighbours (O(n × maxBatchSize) at worst, about
 * O(n) in practice), and only they are sorted; then two pointers over at most `maxBatchSize`
 * start positions: as the start moves right the largest fitting end never moves left. (Sorting the
 * whole queue at every cut cost 30-40 µs per item with 2,048 queued: a tenth of the worker's own
 * thread when the model is fast.)
 */
export function selectBatch<E extends { readonly tokens: number }>(queue: readonly E[], limits: SelectLimits): E[] {
  const reach = limits.maxBatchSize - 1;
  return queue.length <= 2 * reach + 1 ? selectAmong(queue, limits) : selectAmong(neighbours(queue, reach), limits);
}

/**
 * The oldest item (`queue[0]`) and the `reach` items on each side of it in (tokens, arrival)
 * order, in arrival order: the same stretch of the sorted queue that `selectAmong` would look at.
 */
function neighbours<E extends { readonly tokens: number }>(queue: readonly E[], reach: number): E[] {
  const oldest = (queue[0] as E).tokens;
  // Indices, each list ascending by (tokens, index): `below` keeps the largest keys under the
  // oldest item's, `above` the smallest keys over it (an equal length arrived later, so it is over).
  const below: number[] = [];
  const above: number[] = [];
  const tokensAt = (i: number) => (queue[i] as E).tokens;
  const less = (i: number, j: number) => tokensAt(i) < tokensAt(j) || (tokensAt(i) === tokensAt(j) && i < j);
  const insert = (list: number[], i: number) => {
    let at = list.length;
    while (at > 0 && less(i, list[at - 1] as number)) at--;
    list.splice(at, 0, i);
  };
  for (let i = 1; i < queue.length; i++) {
    if (tokensAt(i) < oldest) {
      if (below.length < reach) insert(below, i);
      else if (reach > 0 && less(below[0] as number, i)) {
        below.shift();
        insert(below, i);
      }
    } else if (above.length < reach) insert(above, i);
    else if (reach > 0 && less(i, above[above.length - 1] as number)) {
      above.pop();
      insert(above, i);
    }
  }
  return [0, ...below, ...above].sort((a, b) => a - b).map((i) => queue[i] as E);
}

/** The rule itself, sorting the whole of `queue` (arrival order); exported as the tests' reference. */
export function selectAmong<E extends { readonly tokens: number }>(queue: readonly E[], limits: SelectLimits): E[] {
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
