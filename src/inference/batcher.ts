/**
 * The dynamic batcher between the tokenizer and the model (after text-embeddings-inference's
 * queue): one owner of a bounded queue, batches priced in padded tokens, and one batch prepared
 * ahead while the current one runs. Every decision is made in `pump`, which runs after a submit
 * (coalesced in a microtask, so a burst of submits is seen whole), when the wait timer fires, when
 * a batch finishes and on close.
 */
import { AbandonedItemError, BatcherClosedError, InferenceError, QueueFullError } from "../errors/errors.js";
import { selectBatch } from "./select-batch.js";

export interface BatchLimits {
  /** Most items in one batch. */
  maxBatchSize: number;
  /** Most padded tokens in one batch: (longest item's tokens) × (item count); an item alone always fits. */
  maxBatchTokens: number;
  /** Longest the oldest queued item waits for its batch to fill before the batch is cut anyway; 0 cuts at once. */
  maxWaitMs: number;
  /** Most items waiting (not yet in a batch); beyond it `submit` rejects with `QueueFullError`. */
  queueCapacity: number;
  /**
   * Least (shortest item ÷ longest item) within one batch, so an item is never padded to more than
   * 1/minFillRatio of its length. Default 0.5; 0 packs batches as full as the limits allow (a GPU,
   * where the batch count matters more than padding).
   */
  minFillRatio?: number | undefined;
}

export interface BatchItem {
  readonly tokens: number;
}

export type CutReason = "size" | "tokens" | "wait" | "close";

export interface BatchStats {
  size: number;
  realTokens: number;
  paddedTokens: number;
  reason: CutReason;
  /** How long the batch's oldest item waited in the queue. */
  queueWaitMs: number;
  /** How long each item of the batch waited in the queue, from its submit to the cut. */
  queueWaitsMs: readonly number[];
  /** Items still waiting in the queue after the cut. */
  queued: number;
}

export interface BatchRunner<T extends BatchItem, P, R> {
  /**
   * Synchronous CPU work for a batch (padding, building tensors). Called for the NEXT batch while
   * the current one runs. Items arrive sorted by length; the runner pads to the batch's own longest item.
   */
  prepare(items: readonly T[]): P;
  /** Runs a prepared batch; resolves with exactly one result per item, in the order of `items` given to prepare. */
  run(prepared: P, items: readonly T[]): Promise<R[]>;
}

export interface BatcherHooks {
  /** Called once per batch when it is cut (metrics). Must not throw; errors are ignored. */
  onBatch?: ((stats: BatchStats) => void) | undefined;
  /** Clock in milliseconds (default `performance.now`); the wait timer still uses `setTimeout`. */
  now?: (() => number) | undefined;
}

interface Entry<T, R> {
  readonly item: T;
  readonly tokens: number;
  readonly enqueuedAt: number;
  /** The caller gave up on the item once this aborts: it leaves the queue unrun. */
  readonly signal: AbortSignal | undefined;
  resolve(result: R): void;
  reject(error: unknown): void;
}

interface Batch<T, P, R> {
  readonly entries: readonly Entry<T, R>[];
  readonly items: readonly T[];
  readonly prepared: P;
}

export const DEFAULT_MIN_FILL_RATIO = 0.5;

export class DynamicBatcher<T extends BatchItem, P, R> {
  private readonly runner: BatchRunner<T, P, R>;
  private readonly limits: BatchLimits & { minFillRatio: number };
  private readonly onBatch: ((stats: BatchStats) => void) | undefined;
  private readonly now: () => number;

  /** Arrival order, so `queue[0]` is the oldest. */
  private queue: Entry<T, R>[] = [];
  /** Longest item in the queue, for the "tokens" rule. */
  private queueMaxTokens = 0;
  /** Cut and prepared, waiting for the running batch to finish. */
  private ahead: Batch<T, P, R> | undefined;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** The timer fired for the current oldest item (trusted over `now`, which may be a fake clock). */
  private waitElapsed = false;
  private pumpScheduled = false;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private capacityWaiters: (() => void)[] = [];
  /** Signals listened to (once each, however many items carry one); weak, so a finished one is not kept. */
  private readonly watched = new WeakSet<AbortSignal>();
  private pruneScheduled = false;

  constructor(runner: BatchRunner<T, P, R>, limits: BatchLimits, hooks: BatcherHooks = {}) {
    this.runner = runner;
    this.limits = { ...limits, minFillRatio: limits.minFillRatio ?? DEFAULT_MIN_FILL_RATIO };
    this.onBatch = hooks.onBatch;
    this.now = hooks.now ?? (() => performance.now());
  }

  /**
   * Queues one item; rejects with `QueueFullError` when the queue is full, `BatcherClosedError` after
   * `close()`, and `AbandonedItemError` when `signal` aborts while the item still waits (an item
   * already in a batch runs to the end). A rebalance abandons a whole fetch's worth this way
   * instead of running it for nobody. `overCapacity` admits it beyond the capacity (a chunk queued
   * whole once the queue had room).
   */
  submit(item: T, signal?: AbortSignal, options: { overCapacity?: boolean } = {}): Promise<R> {
    if (this.closing) return Promise.reject(new BatcherClosedError());
    if (signal?.aborted) return Promise.reject(new AbandonedItemError());
    if (!this.hasCapacity && !options.overCapacity)
      return Promise.reject(new QueueFullError(this.limits.queueCapacity));
    if (!(Number.isInteger(item.tokens) && item.tokens > 0)) {
      return Promise.reject(new RangeError(`an item's tokens must be a positive integer, got ${item.tokens}`));
    }
    if (signal && !this.watched.has(signal)) {
      this.watched.add(signal);
      signal.addEventListener("abort", () => this.schedulePrune(), { once: true });
    }
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, tokens: item.tokens, enqueuedAt: this.now(), signal, resolve, reject });
      this.queueMaxTokens = Math.max(this.queueMaxTokens, item.tokens);
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        queueMicrotask(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  /**
   * Queues every item, waiting for room instead of failing; results come in the order of `items`.
   * An iterable is read one item at a time, as the queue takes them.
   */
  async submitAll(items: Iterable<T>): Promise<R[]> {
    return Promise.all(await this.queueAll(items));
  }

  /**
   * Queues every item, waiting for room instead of failing; resolves once all are queued, with
   * each one's result (observed, so an early failure does not go unhandled before the caller looks).
   */
  async queueAll(items: Iterable<T>): Promise<Promise<R>[]> {
    const results: Promise<R>[] = [];
    for (const item of items) {
      // No await while there is room: items submitted in one go stay in one batch.
      if (!this.hasCapacity) await this.room();
      const result = this.submit(item);
      result.catch(() => {});
      results.push(result);
    }
    return results;
  }

  /** Items waiting, not yet cut into a batch. */
  get queued(): number {
    return this.queue.length;
  }

  get hasCapacity(): boolean {
    return this.queue.length < this.limits.queueCapacity;
  }

  /** Resolves once the queue has room (or the batcher closes, when `submit` rejects instead). */
  async room(): Promise<void> {
    while (!this.closing && !this.hasCapacity) await this.whenCapacity();
  }

  /** Resolves when the queue has room again, or the batcher is closed (so a paused consumer wakes up either way). */
  whenCapacity(): Promise<void> {
    if (this.hasCapacity || this.closing) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
  }

  /** Stops accepting items, runs everything queued and resolves when all work has finished. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise((resolve) => {
        this.drained = resolve;
      });
      this.clearTimer();
      this.wakeCapacityWaiters();
      this.pump();
    }
    return this.closing;
  }

  /** Drops the queued items whose caller gave up, once for a burst of aborts. */
  private schedulePrune(): void {
    if (this.pruneScheduled) return;
    this.pruneScheduled = true;
    queueMicrotask(() => {
      this.pruneScheduled = false;
      const kept = this.queue.filter((e) => !e.signal?.aborted);
      if (kept.length === this.queue.length) return;
      const dropped = this.queue.filter((e) => e.signal?.aborted);
      this.queue = kept;
      this.queueMaxTokens = kept.reduce((max, e) => Math.max(max, e.tokens), 0);
      if (kept.length === 0) this.clearTimer();
      for (const entry of dropped) entry.reject(new AbandonedItemError());
      if (this.hasCapacity) this.wakeCapacityWaiters();
      this.pump();
    });
  }

  /** The single decision point: cut a batch when the slot ahead is free, start it when the runner is. */
  private pump(): void {
    for (;;) {
      if (this.ahead === undefined) {
        const reason = this.cutReason();
        if (reason === undefined) break;
        this.ahead = this.cut(reason); // undefined when prepare failed: try the next batch
      } else if (!this.running) {
        const batch = this.ahead;
        this.ahead = undefined;
        this.start(batch);
      } else {
        break;
      }
    }
    this.armTimer();
    if (this.closing && this.queue.length === 0 && this.ahead === undefined && !this.running) this.drained?.();
  }

  private cutReason(): CutReason | undefined {
    const oldest = this.queue[0];
    if (oldest === undefined) return undefined;
    const { maxBatchSize, maxBatchTokens, maxWaitMs } = this.limits;
    if (this.queue.length >= maxBatchSize) return "size";
    // The whole queue would not fit one batch: waiting cannot make the oldest item's batch bigger.
    if (this.queueMaxTokens * this.queue.length >= maxBatchTokens) return "tokens";
    // Under load the next batch keeps filling while this one runs; cutting it on time now would
    // freeze it at whatever arrived in the first few milliseconds.
    if (this.running && !this.closing) return undefined;
    if (this.waitElapsed || this.now() - oldest.enqueuedAt >= maxWaitMs) return "wait";
    if (this.closing) return "close";
    return undefined;
  }

  /** Takes the next batch out of the queue and prepares it; fails its items if prepare throws. */
  private cut(reason: CutReason): Batch<T, P, R> | undefined {
    const entries = selectBatch(this.queue, this.limits);
    const taken = new Set(entries);
    const cutAt = this.now();
    const queueWaitMs = cutAt - (this.queue[0]?.enqueuedAt ?? 0);
    this.queue = this.queue.filter((e) => !taken.has(e));
    this.queueMaxTokens = this.queue.reduce((max, e) => Math.max(max, e.tokens), 0);
    this.clearTimer();
    this.waitElapsed = false;
    if (this.hasCapacity) this.wakeCapacityWaiters();

    const longest = entries[entries.length - 1]?.tokens ?? 0;
    const stats: BatchStats = {
      size: entries.length,
      realTokens: entries.reduce((sum, e) => sum + e.tokens, 0),
      paddedTokens: longest * entries.length,
      reason,
      queueWaitMs,
      queueWaitsMs: entries.map((e) => cutAt - e.enqueuedAt),
      queued: this.queue.length,
    };
    try {
      this.onBatch?.(stats);
    } catch {
      // Metrics must never fail inference.
    }

    const items = entries.map((e) => e.item);
    try {
      return { entries, items, prepared: this.runner.prepare(items) };
    } catch (error) {
      fail(entries, error);
      return undefined;
    }
  }

  private start(batch: Batch<T, P, R>): void {
    this.running = true;
    void this.run(batch);
  }

  private async run(batch: Batch<T, P, R>): Promise<void> {
    try {
      // runner.run is called synchronously here, so the model starts before the next batch is prepared.
      const results = await this.runner.run(batch.prepared, batch.items);
      if (results.length !== batch.entries.length) {
        throw new Error(`the runner returned ${results.length} results for ${batch.entries.length} items`);
      }
      batch.entries.forEach((entry, i) => {
        entry.resolve(results[i] as R);
      });
    } catch (error) {
      fail(batch.entries, error);
    } finally {
      this.running = false;
      this.pump();
    }
  }

  /** Only while the runner is idle: otherwise the end of the running batch decides (see cutReason). */
  private armTimer(): void {
    const oldest = this.queue[0];
    if (this.timer || this.ahead || this.running || this.closing || oldest === undefined) return;
    const delay = Math.max(0, oldest.enqueuedAt + this.limits.maxWaitMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.waitElapsed = true;
      this.pump();
    }, delay);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wakeCapacityWaiters(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const wake of waiters) wake();
  }
}

function fail<T, R>(entries: readonly Entry<T, R>[], cause: unknown): void {
  const error = new InferenceError(`inference failed for a batch of ${entries.length} items`, { cause });
  for (const entry of entries) entry.reject(error);
}
