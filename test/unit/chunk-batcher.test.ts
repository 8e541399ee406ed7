/**
 * The batcher's chunk queue: a chunk queued whole with one promise, its results in its own order
 * whatever batches its texts went into; part of a chunk abandoned; a chunk beyond the queue's
 * capacity; close with chunks waiting; batches handed to a runner that queues them; and a cut
 * whose cost does not grow with the queue.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AbandonedItemError, BatcherClosedError, InferenceError, QueueFullError } from "../../src/errors/errors.js";
import { BatchQueue } from "../../src/inference/batch-queue.js";
import { type BatchLimits, type BatchStats, ChunkBatcher, type CutBatch } from "../../src/inference/batcher.js";

/** A chunk: each text's length and, once run, its result (here: its length × 10 + its index in the chunk). */
interface Chunk {
  readonly name: string;
  readonly lengths: Int32Array;
  readonly results: Float64Array;
}

const chunk = (name: string, lengths: readonly number[]): Chunk => ({
  name,
  lengths: Int32Array.from(lengths),
  results: new Float64Array(lengths.length).fill(-1),
});

interface Ran {
  items: string[];
  tokens: number[];
}

class Runner {
  readonly ran: Ran[] = [];
  readonly events: string[] = [];
  runMs = 0;
  depth: number | undefined;
  fail: (batch: CutBatch<Chunk>) => boolean = () => false;
  tokens = (c: Chunk, i: number) => c.lengths[i] as number;
  prepare = (batch: CutBatch<Chunk>): Ran => {
    const ran = {
      items: batch.chunks.map((c, k) => `${c.name}${batch.indices[k]}`),
      tokens: Array.from(batch.tokens),
    };
    this.ran.push(ran);
    return ran;
  };
  run = async (ran: Ran, batch: CutBatch<Chunk>): Promise<void> => {
    const n = this.ran.indexOf(ran);
    this.events.push(`start ${n}`);
    if (this.runMs) await sleep(this.runMs);
    this.events.push(`end ${n}`);
    if (this.fail(batch)) throw new Error(`batch ${n} failed`);
    for (let k = 0; k < batch.size; k++) {
      const c = batch.chunks[k] as Chunk;
      const i = batch.indices[k] as number;
      c.results[i] = (c.lengths[i] as number) * 10 + i;
    }
  };
}

function setup(limits: Partial<BatchLimits> = {}, depth?: number) {
  const runner = new Runner();
  runner.depth = depth;
  const stats: BatchStats[] = [];
  const batcher = new ChunkBatcher<Chunk, Ran>(
    runner,
    { maxBatchSize: 4, maxBatchTokens: 4096, maxWaitMs: 1, queueCapacity: 64, ...limits },
    { onBatch: (s) => stats.push(s) },
  );
  return { runner, stats, batcher };
}

const expected = (c: Chunk) => Array.from(c.lengths, (length, i) => length * 10 + i);

describe("ChunkBatcher", () => {
  it("settles each chunk once all its texts ran, each result in its chunk's order, texts mixed across chunks by length", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 4 });
    const a = chunk("a", [30, 5, 31, 6, 29, 7]);
    const b = chunk("b", [6, 30, 5]);
    await Promise.all([batcher.enqueue(a, 6), batcher.enqueue(b, 3)]);
    assert.deepEqual(Array.from(a.results), expected(a));
    assert.deepEqual(Array.from(b.results), expected(b));
    // The oldest (a0, 30 tokens) went with its neighbours by length, from both chunks.
    assert.deepEqual(runner.ran[0]?.items, ["a4", "a0", "b1", "a2"]);
    for (const ran of runner.ran)
      assert.deepEqual(
        ran.tokens,
        [...ran.tokens].sort((x, y) => x - y),
      );
    await batcher.close();
  });

  it("abandons the texts of a chunk not yet cut when its signal aborts; those already cut run; other chunks go on", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 2, maxWaitMs: 0 });
    runner.runMs = 30;
    const gone = new AbortController();
    const kept = chunk("k", [4, 4]);
    const dropped = chunk("d", [4, 4, 4, 4, 4, 4]);
    const keptDone = batcher.enqueue(kept, 2);
    const droppedDone = batcher.enqueue(dropped, 6, gone.signal);
    droppedDone.catch(() => {});
    await sleep(5);
    // k0 k1 run, d0 d1 are cut (ahead); d2..d5 wait.
    assert.equal(batcher.queued, 4);
    gone.abort();
    assert.equal(batcher.queued, 0, "the waiting texts left the queue at once");
    await assert.rejects(droppedDone, AbandonedItemError);
    await keptDone;
    await batcher.close();
    assert.deepEqual(
      runner.ran.map((r) => r.items),
      [
        ["k0", "k1"],
        ["d0", "d1"],
      ],
    );
    assert.deepEqual(Array.from(dropped.results.subarray(2)), [-1, -1, -1, -1], "abandoned texts never ran");
  });

  it("lets a chunk whose texts were all cut finish even if its signal aborts", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 4, maxWaitMs: 0 });
    runner.runMs = 20;
    const gone = new AbortController();
    const c = chunk("c", [3, 3, 3, 3]);
    const done = batcher.enqueue(c, 4, gone.signal);
    await sleep(5);
    gone.abort();
    await done;
    assert.deepEqual(Array.from(c.results), expected(c));
    await batcher.close();
  });

  it("admits a chunk larger than the queue's capacity when told to, and none while full otherwise", async () => {
    const { stats, batcher } = setup({ queueCapacity: 8, maxBatchSize: 4, maxWaitMs: 0 });
    const big = chunk(
      "big",
      Array.from({ length: 50 }, (_, i) => 3 + (i % 9)),
    );
    const done = batcher.enqueue(big, 50, undefined, { overCapacity: true });
    assert.equal(batcher.hasCapacity, false);
    await assert.rejects(batcher.enqueue(chunk("y", [1]), 1), (e) => e instanceof QueueFullError);
    await batcher.whenCapacity();
    await done;
    assert.deepEqual(Array.from(big.results), expected(big));
    assert.ok(stats.every((s) => s.size <= 4));
    await batcher.close();
  });

  it("close() runs every chunk still queued, then refuses new ones", async () => {
    const { runner, stats, batcher } = setup({ maxBatchSize: 16, maxWaitMs: 60_000 });
    runner.runMs = 5;
    const a = chunk("a", [10, 11]);
    const b = chunk("b", [12]);
    const done = [batcher.enqueue(a, 2), batcher.enqueue(b, 1)];
    await batcher.close();
    await Promise.all(done);
    assert.deepEqual(Array.from(a.results), expected(a));
    assert.deepEqual(Array.from(b.results), expected(b));
    assert.deepEqual(
      stats.map((s) => s.reason),
      ["close"],
    );
    await assert.rejects(batcher.enqueue(chunk("c", [1]), 1), BatcherClosedError);
  });

  it("fails every chunk in a failed batch and drops their other waiting texts; the rest runs", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 2, maxWaitMs: 0 });
    runner.runMs = 5;
    runner.fail = (batch) => batch.chunks.some((c) => c.name === "bad");
    const good = chunk("g", [3, 3]);
    const bad = chunk("bad", [9, 9, 9, 9, 9, 9]);
    const [goodDone, badDone] = [batcher.enqueue(good, 2), batcher.enqueue(bad, 6)];
    await assert.rejects(badDone, (e) => e instanceof InferenceError);
    await goodDone;
    await batcher.close();
    assert.ok(runner.ran.filter((r) => r.items.some((i) => i.startsWith("bad"))).length < 3, "not every batch ran");
    assert.equal(batcher.queued, 0);
  });

  it("hands a runner of depth 2 the next batch while one runs, and keeps one prepared", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 2, maxWaitMs: 0 }, 2);
    runner.runMs = 20;
    const c = chunk("c", [5, 5, 5, 5, 5, 5, 5, 5]);
    const done = batcher.enqueue(c, 8);
    await sleep(5);
    assert.deepEqual(runner.events, ["start 0", "start 1"], "two batches handed over at once");
    assert.equal(runner.ran.length, 3, "a third prepared, waiting");
    await done;
    await batcher.close();
  });

  it("rejects a chunk with a text of no tokens, queuing none of it", async () => {
    const { batcher } = setup();
    await assert.rejects(batcher.enqueue(chunk("z", [3, 0]), 2), RangeError);
    assert.equal(batcher.queued, 0);
    await batcher.close();
  });
});

describe("BatchQueue", () => {
  /** Feed-like lengths from a seeded generator. */
  const lengthAt = (i: number) => 3 + ((i * 2654435761) % 97);

  /** Steps (lengths and buckets read) per cut item, cutting the queue of `n` down by `cuts` batches. */
  function stepsPerItem(n: number, cuts: number): { steps: number; ms: number } {
    const queue = new BatchQueue<number>();
    for (let i = 0; i < n; i++) queue.push(i, i, lengthAt(i), 0);
    const limits = { maxBatchSize: 256, maxBatchTokens: 256 * 512, minFillRatio: 0.5 };
    const before = queue.steps;
    let items = 0;
    const started = performance.now();
    for (let c = 0; c < cuts; c++) {
      const count = queue.select(limits);
      for (let k = 0; k < count; k++) queue.remove(queue.picked[k] as number);
      items += count;
      // Keep the queue at its size, as a steady stream does.
      for (let k = 0; k < count; k++) queue.push(n + c * 256 + k, 0, lengthAt(n + c * 256 + k), 0);
    }
    return { steps: (queue.steps - before) / items, ms: (performance.now() - started) / items };
  }

  it("cuts a batch for about the same work with 100,000 items queued as with 1,000", (t) => {
    stepsPerItem(100_000, 50); // warm-up
    // The fastest of five each, taken in turns, against a shared machine's pauses.
    let small = stepsPerItem(1_000, 50);
    let large = stepsPerItem(100_000, 50);
    for (let i = 0; i < 4; i++) {
      const [s, l] = [stepsPerItem(1_000, 50), stepsPerItem(100_000, 50)];
      if (s.ms < small.ms) small = s;
      if (l.ms < large.ms) large = l;
    }
    t.diagnostic(
      `per cut item: ${small.steps.toFixed(2)} vs ${large.steps.toFixed(2)} steps, ` +
        `${(1000 * small.ms).toFixed(2)} vs ${(1000 * large.ms).toFixed(2)} µs`,
    );
    // A scan of the queue would make it 100 times the work; O(log n) at most about 1.7 times.
    assert.ok(large.steps <= 1.7 * small.steps + 1, `${large.steps} steps per item vs ${small.steps}`);
    // Loose, for a shared machine: a walk over the queue at each cut costs 10-15 times as much.
    assert.ok(large.ms < 4 * small.ms + 0.0002, `${large.ms} ms per item vs ${small.ms}`);
  });

  it("keeps the oldest item first in line however it got there, and frees slots for reuse", () => {
    const queue = new BatchQueue<string>();
    const slots = ["a", "b", "c"].map((g, i) => queue.push(g, i, 10 + i, i));
    queue.remove(slots[0] as number);
    assert.equal(queue.groupAt(queue.oldest), "b");
    assert.equal(queue.maxTokens, 12);
    const again = queue.push("d", 0, 600, 3);
    assert.equal(again, slots[0], "the freed slot is reused");
    assert.equal(queue.maxTokens, 600);
    assert.equal(queue.size, 3);
  });
});
