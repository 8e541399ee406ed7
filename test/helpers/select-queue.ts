/** The batch `BatchQueue` would cut from `queue` (arrival order), for tests of the rule on plain arrays. */
import { BatchQueue, type SelectLimits } from "../../src/inference/batch-queue.js";

export function selectBatch<E extends { readonly tokens: number }>(queue: readonly E[], limits: SelectLimits): E[] {
  const q = new BatchQueue<E>();
  for (const [i, item] of queue.entries()) q.push(item, i, item.tokens, 0);
  const n = q.select(limits);
  return Array.from(q.picked.subarray(0, n), (slot) => q.groupAt(slot));
}
