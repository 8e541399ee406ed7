/**
 * The batch selection looks only at the oldest item's neighbours by length; it must pick exactly
 * what the rule picks when it sorts the whole queue, whatever the queue.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { selectAmong } from "../../src/inference/select-batch.js";
import { selectBatch } from "../helpers/select-queue.js";

interface Item {
  readonly id: number;
  readonly tokens: number;
}

/** A seeded generator (LCG), so a failure can be replayed. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("selectBatch", () => {
  it("picks what sorting the whole queue picks, on 3,000 random queues", () => {
    const random = generator(20261127);
    for (let run = 0; run < 3000; run++) {
      const size = 1 + Math.floor(random() * 300);
      // Few distinct lengths in some runs (many ties), social-feed-like spreads in others.
      const spread = random() < 0.3 ? 4 : 120;
      const queue: Item[] = Array.from({ length: size }, (_, id) => ({
        id,
        tokens: 3 + Math.floor(random() * spread),
      }));
      const limits = {
        maxBatchSize: 1 + Math.floor(random() * 32),
        maxBatchTokens: 64 + Math.floor(random() * 4000),
        minFillRatio: [0, 0.5, 0.8][Math.floor(random() * 3)] as number,
      };
      const ids = (items: Item[]) => items.map((i) => i.id);
      assert.deepEqual(ids(selectBatch(queue, limits)), ids(selectAmong(queue, limits)), `run ${run}`);
    }
  });

  it("always includes the oldest item, also when every other item is shorter or longer", () => {
    const limits = { maxBatchSize: 4, maxBatchTokens: 10_000, minFillRatio: 0 };
    const shorter = [{ id: 0, tokens: 100 }, ...Array.from({ length: 50 }, (_, i) => ({ id: i + 1, tokens: 10 + i }))];
    const longer = [{ id: 0, tokens: 5 }, ...Array.from({ length: 50 }, (_, i) => ({ id: i + 1, tokens: 10 + i }))];
    for (const queue of [shorter, longer]) {
      const batch = selectBatch(queue, limits);
      assert.ok(batch.some((i) => i.id === 0));
      assert.equal(batch.length, 4);
    }
  });
});
