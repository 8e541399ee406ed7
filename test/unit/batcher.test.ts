import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AbandonedItemError, BatcherClosedError, InferenceError, QueueFullError } from "../../src/errors/errors.js";
import { type BatchLimits, type BatchRunner, type BatchStats, DynamicBatcher } from "../../src/inference/batcher.js";
import { selectBatch } from "../helpers/select-queue.js";

interface Item {
  readonly id: number;
  readonly tokens: number;
}

interface Recorded {
  readonly ids: number[];
  readonly tokens: number[];
}

/** Records every batch and the order of prepare/run events; can be slowed or made to fail. */
class FakeRunner implements BatchRunner<Item, Recorded, string> {
  readonly batches: Recorded[] = [];
  readonly events: string[] = [];
  runMs = 0;
  failRun: (items: readonly Item[]) => boolean = () => false;
  failPrepare: (items: readonly Item[]) => boolean = () => false;

  prepare(items: readonly Item[]): Recorded {
    const n = this.batches.length;
    this.events.push(`prepare ${n}`);
    if (this.failPrepare(items)) throw new Error(`prepare failed for batch ${n}`);
    const batch = { ids: items.map((i) => i.id), tokens: items.map((i) => i.tokens) };
    this.batches.push(batch);
    return batch;
  }

  async run(prepared: Recorded, items: readonly Item[]): Promise<string[]> {
    const n = this.batches.indexOf(prepared);
    this.events.push(`start ${n}`);
    if (this.runMs > 0) await sleep(this.runMs);
    this.events.push(`end ${n}`);
    if (this.failRun(items)) throw new Error(`run failed for batch ${n}`);
    return items.map((i) => `result ${i.id}`);
  }
}

function setup(limits: Partial<BatchLimits> = {}, now?: () => number) {
  const runner = new FakeRunner();
  const stats: BatchStats[] = [];
  const batcher = new DynamicBatcher(
    runner,
    { maxBatchSize: 8, maxBatchTokens: 512, maxWaitMs: 5, queueCapacity: 2048, ...limits },
    { onBatch: (s) => stats.push(s), now },
  );
  return { runner, stats, batcher };
}

/** Seeded PRNG (mulberry32), so a failure can be reproduced. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Social-feed-like token lengths: log-normal around a median of 30, a tail past 128, 1% truncated at 512. */
function feedLengths(count: number, seed: number): number[] {
  const random = prng(seed);
  return Array.from({ length: count }, () => {
    if (random() < 0.01) return 512;
    const z = Math.sqrt(-2 * Math.log(random() || 1e-9)) * Math.cos(2 * Math.PI * random());
    return Math.max(3, Math.min(512, Math.round(30 * Math.exp(0.75 * z))));
  });
}

const items = (lengths: readonly number[], firstId = 0): Item[] =>
  lengths.map((tokens, i) => ({ id: firstId + i, tokens }));

describe("selectBatch", () => {
  const q = (lengths: number[]) => lengths.map((tokens) => ({ tokens }));
  const limits = { maxBatchSize: 3, maxBatchTokens: 1000, minFillRatio: 0.5 };

  it("takes the oldest item and its closest neighbours by length, sorted", () => {
    const queue = q([40, 10, 100, 41, 39, 11, 200, 42]);
    assert.deepEqual(
      selectBatch(queue, limits).map((e) => e.tokens),
      [40, 41, 42],
    );
  });

  it("keeps an item out when padding would cost it more than its own length", () => {
    assert.deepEqual(
      selectBatch(q([100, 10, 20, 30]), limits).map((e) => e.tokens),
      [100],
    );
    assert.deepEqual(
      selectBatch(q([100, 10, 20, 30]), { ...limits, minFillRatio: 0 }).map((e) => e.tokens),
      [20, 30, 100],
    );
  });

  it("lets an item above the token budget run alone", () => {
    assert.deepEqual(
      selectBatch(q([2000, 2000, 5]), limits).map((e) => e.tokens),
      [2000],
    );
  });
});

describe("DynamicBatcher", () => {
  it("keeps every batch within maxBatchSize and maxBatchTokens; an oversize item runs alone", async () => {
    const { runner, stats, batcher } = setup({ maxBatchSize: 8, maxBatchTokens: 256 });
    const random = prng(7);
    const lengths = Array.from({ length: 300 }, () => 3 + Math.floor(random() * 120));
    lengths[50] = 300; // above maxBatchTokens
    const results = await batcher.submitAll(items(lengths));
    assert.equal(results.length, 300);
    for (const batch of runner.batches) {
      const longest = Math.max(...batch.tokens);
      assert.ok(batch.ids.length <= 8, `batch of ${batch.ids.length}`);
      if (batch.ids.length > 1) assert.ok(longest * batch.ids.length <= 256, `batch ${batch.tokens}`);
      assert.deepEqual(
        batch.tokens,
        [...batch.tokens].sort((a, b) => a - b),
        "prepare gets items sorted by length",
      );
    }
    assert.ok(runner.batches.some((b) => b.ids.length === 1 && b.ids[0] === 50));
    assert.equal(stats.length, runner.batches.length);
    for (const s of stats) assert.ok(s.paddedTokens >= s.realTokens);
  });

  it("runs a lone item after about maxWaitMs, with reason wait", async () => {
    const { stats, batcher } = setup({ maxWaitMs: 100 });
    const started = performance.now();
    assert.equal(await batcher.submit({ id: 1, tokens: 10 }), "result 1");
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 90, `ran after ${elapsed} ms`);
    assert.ok(elapsed < 100 + 1000, `ran after ${elapsed} ms`);
    assert.equal(stats[0]?.reason, "wait");
    await batcher.close();
  });

  it("cuts on the oldest item's wait as the clock says (fake clock)", async () => {
    let clock = 0;
    const { stats, batcher } = setup({ maxWaitMs: 60_000 }, () => clock);
    const first = batcher.submit({ id: 1, tokens: 10 });
    await sleep(0); // the batcher sees the item (and arms its real timer, 60 s away) at clock 0
    clock = 59_999;
    void batcher.submit({ id: 2, tokens: 10 });
    await sleep(5);
    assert.equal(stats.length, 0, "not cut a millisecond early");
    clock = 60_000;
    const third = batcher.submit({ id: 3, tokens: 10 }); // wakes the batcher, as any submit does
    assert.equal(await first, "result 1");
    assert.deepEqual(stats[0], {
      size: 3,
      realTokens: 30,
      paddedTokens: 30,
      reason: "wait",
      queueWaitMs: 60_000,
      queueWaitsMs: [60_000, 1, 0],
      queued: 0,
    });
    await third;
    await batcher.close();
  });

  it("cuts a full batch without waiting: by size, by tokens, or at once with maxWaitMs 0", async () => {
    const bySize = setup({ maxWaitMs: 60_000, maxBatchSize: 4 });
    await bySize.batcher.submitAll(items([5, 5, 5, 5]));
    assert.equal(bySize.stats[0]?.reason, "size");

    const byTokens = setup({ maxWaitMs: 60_000, maxBatchSize: 32, maxBatchTokens: 100 });
    await byTokens.batcher.submitAll(items([50, 50]));
    assert.equal(byTokens.stats[0]?.reason, "tokens");

    const noWait = setup({ maxWaitMs: 0 });
    await noWait.batcher.submit({ id: 1, tokens: 5 });
    assert.equal(noWait.stats[0]?.reason, "wait");
    await Promise.all([bySize.batcher.close(), byTokens.batcher.close(), noWait.batcher.close()]);
  });

  it("reports each item's queue wait and what is left queued at each cut", async () => {
    let clock = 0;
    const { stats, batcher } = setup({ maxBatchSize: 2, maxWaitMs: 60_000 }, () => clock);
    const all = [1, 2, 3, 4, 5].map((id) => batcher.submit({ id, tokens: 10 }));
    await sleep(5); // two full batches cut at once; the fifth item waits for company
    clock = 7;
    await batcher.close(); // cuts it
    await Promise.all(all);
    assert.deepEqual(
      stats.map((s) => [s.reason, s.queued, s.queueWaitsMs]),
      [
        ["size", 3, [0, 0]],
        ["size", 1, [0, 0]],
        ["close", 0, [7]],
      ],
    );
  });

  it("rejects a submit beyond queueCapacity with QueueFullError and signals when there is room", async () => {
    const { batcher } = setup({ queueCapacity: 4, maxBatchSize: 2, maxWaitMs: 0 });
    const accepted = [1, 2, 3, 4].map((id) => batcher.submit({ id, tokens: 10 }));
    assert.equal(batcher.queued, 4);
    assert.equal(batcher.hasCapacity, false);
    await assert.rejects(batcher.submit({ id: 5, tokens: 10 }), (e) => e instanceof QueueFullError && e.retriable);
    await batcher.whenCapacity();
    assert.ok(batcher.hasCapacity);
    assert.ok(batcher.queued < 4);
    assert.deepEqual(await Promise.all(accepted), ["result 1", "result 2", "result 3", "result 4"]);
    await batcher.close();
  });

  it("completes submitAll of ten times the capacity, results in the caller's order", async () => {
    const { runner, batcher } = setup({ queueCapacity: 16, maxBatchSize: 4, maxWaitMs: 1 });
    runner.runMs = 1;
    const lengths = feedLengths(160, 3);
    const results = await batcher.submitAll(items(lengths));
    assert.deepEqual(
      results,
      lengths.map((_, i) => `result ${i}`),
    );
    await batcher.close();
  });

  it("gives each caller its own result when the batcher reorders items by length", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 8, maxBatchTokens: 4096 });
    const all = items(feedLengths(200, 11));
    const results = await Promise.all(all.map(async (item) => [item.id, await batcher.submit(item)] as const));
    for (const [id, result] of results) assert.equal(result, `result ${id}`);
    assert.ok(
      runner.batches.some((b) => b.ids.some((id, i) => i > 0 && id < (b.ids[i - 1] ?? 0))),
      "some batch was reordered",
    );
    await batcher.close();
  });

  it("puts the oldest waiting item in the next batch however many shorter items arrive", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 4, maxBatchTokens: 4096, maxWaitMs: 1 });
    runner.runMs = 2;
    const random = prng(5);
    let nextId = 0;
    const pending: Promise<string>[] = [batcher.submit({ id: nextId++, tokens: 200 })];
    for (let wave = 0; wave < 20; wave++) {
      for (let i = 0; i < 6; i++) pending.push(batcher.submit({ id: nextId++, tokens: 5 + Math.floor(random() * 10) }));
      await sleep(1);
    }
    await Promise.all(pending);
    assert.deepEqual(runner.batches[0]?.ids, [0], "the long first item is not left behind");
    // Ids grow with arrival, so the smallest id not yet batched was the oldest item in the queue.
    const done = new Set<number>();
    for (const batch of runner.batches) {
      let oldest = 0;
      while (done.has(oldest)) oldest++;
      assert.ok(batch.ids.includes(oldest), `batch ${batch.ids} lacks the oldest item ${oldest}`);
      for (const id of batch.ids) done.add(id);
    }
    await batcher.close();
  });

  it("prepares batch N+1 while batch N runs, and never more than one batch ahead", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 4, maxWaitMs: 0 });
    runner.runMs = 15;
    await batcher.submitAll(items(Array.from({ length: 20 }, () => 10)));
    assert.equal(runner.batches.length, 5);
    for (let n = 0; n + 1 < 5; n++) {
      const at = (event: string) => runner.events.indexOf(event);
      assert.ok(at(`start ${n}`) < at(`prepare ${n + 1}`), `batch ${n + 1} prepared after batch ${n} started`);
      assert.ok(at(`prepare ${n + 1}`) < at(`end ${n}`), `batch ${n + 1} prepared while batch ${n} ran`);
      assert.ok(at(`end ${n}`) < at(`start ${n + 1}`), "one batch runs at a time");
      assert.ok(at(`end ${n}`) < at(`prepare ${n + 2}`) || at(`prepare ${n + 2}`) < 0, "at most one batch ahead");
    }
    await batcher.close();
  });

  it("pads little on a social-feed-like stream (real / padded tokens >= 0.85)", async (t) => {
    const { stats, batcher } = setup({ maxBatchSize: 32, maxBatchTokens: 4096, maxWaitMs: 5, queueCapacity: 2048 });
    const lengths = feedLengths(2000, 42);
    const results = await batcher.submitAll(items(lengths));
    assert.equal(results.length, 2000);
    const real = stats.reduce((sum, s) => sum + s.realTokens, 0);
    const padded = stats.reduce((sum, s) => sum + s.paddedTokens, 0);
    assert.equal(
      real,
      lengths.reduce((a, b) => a + b, 0),
    );
    const ratio = real / padded;
    t.diagnostic(`padding efficiency ${ratio.toFixed(4)} over ${stats.length} batches`);
    assert.ok(ratio >= 0.85, `real/padded ${ratio}`);
    await batcher.close();
  });

  it("fails only the batch whose run or prepare failed, with InferenceError keeping the cause", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 2, maxWaitMs: 0 });
    runner.failRun = (batch) => batch.some((i) => i.id === 3);
    runner.failPrepare = (batch) => batch.some((i) => i.id === 5);
    const settled = await Promise.allSettled(items([10, 10, 20, 20, 30, 30, 40, 40]).map((i) => batcher.submit(i)));
    const failed = settled.flatMap((s, id) => (s.status === "rejected" ? [id] : []));
    assert.deepEqual(failed, [2, 3, 4, 5]);
    for (const s of settled) {
      if (s.status === "fulfilled") continue;
      assert.ok(s.reason instanceof InferenceError);
      assert.ok(s.reason.cause instanceof Error && /(run|prepare) failed/.test(s.reason.cause.message));
    }
    assert.equal(await batcher.submit({ id: 9, tokens: 10 }), "result 9", "the batcher keeps working");
    await batcher.close();
  });

  it("drops the queued items of an aborted signal unrun (AbandonedItemError), frees their room, runs the rest", async () => {
    const { runner, batcher } = setup({ maxBatchSize: 2, queueCapacity: 6, maxWaitMs: 0 });
    runner.runMs = 30;
    const gone = new AbortController();
    const kept = [batcher.submit({ id: 0, tokens: 4 })];
    const abandoned = [1, 2, 3, 4].map((id) => batcher.submit({ id, tokens: 4 }, gone.signal));
    for (const p of abandoned) p.catch(() => {});
    kept.push(batcher.submit({ id: 5, tokens: 4 }));
    await sleep(5);
    // Items 0 and 1 run, 2 and 3 are prepared ahead; 4 still waits and is dropped.
    gone.abort();
    await batcher.close();
    assert.deepEqual(await Promise.all(kept), ["result 0", "result 5"]);
    await assert.rejects(abandoned[3] as Promise<string>, AbandonedItemError);
    assert.ok(!runner.batches.some((b) => b.ids.includes(4)));
    await assert.rejects(batcher.submit({ id: 6, tokens: 4 }, gone.signal));
  });

  it("close() runs what is queued, then rejects submits with BatcherClosedError", async () => {
    const { runner, stats, batcher } = setup({ maxWaitMs: 60_000, maxBatchSize: 8 });
    runner.runMs = 5;
    const pending = items([10, 11, 12]).map((i) => batcher.submit(i));
    await batcher.close();
    assert.equal(runner.events.at(-1), "end 0", "close resolved after the work finished");
    assert.deepEqual(await Promise.all(pending), ["result 0", "result 1", "result 2"]);
    assert.equal(stats[0]?.reason, "close");
    await assert.rejects(batcher.submit({ id: 4, tokens: 10 }), BatcherClosedError);
    await assert.rejects(batcher.submitAll(items([10])), BatcherClosedError);
    await batcher.whenCapacity(); // does not hang a paused consumer
  });

  it("lets the next batch fill while one runs: a trickle during a slow run becomes one batch, not many small ones", async () => {
    const { runner, stats, batcher } = setup({ maxBatchSize: 32, maxWaitMs: 2 });
    runner.runMs = 150;
    const first = batcher.submit({ id: 0, tokens: 10 });
    await sleep(20); // the first batch (one item, cut by time) is running now
    const trickle: Promise<string>[] = [];
    for (let i = 1; i <= 6; i++) {
      trickle.push(batcher.submit({ id: i, tokens: 10 }));
      await sleep(10); // each waits longer than maxWaitMs, while the runner is busy
    }
    await Promise.all([first, ...trickle]);
    assert.deepEqual(
      runner.batches.map((b) => b.ids.length),
      [1, 6],
      "the six items that arrived during the run form one batch",
    );
    assert.deepEqual(
      stats.map((s) => s.reason),
      ["wait", "wait"],
    );
  });
});
