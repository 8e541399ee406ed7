/**
 * The dynamic batcher between the tokenizer and the model (after text-embeddings-inference's
 * queue): one owner of a bounded queue, batches priced in padded tokens, and one batch prepared
 * ahead while the current one runs. Every decision is made in `pump`, which runs after a chunk is
 * queued (coalesced in a microtask, so a burst is seen whole), when the wait timer fires, when a
 * batch finishes and on close.
 *
 * What it queues are chunks: a caller's texts queued at once, each text an entry of the queue as
 * (chunk, index) (`batch-queue.ts`), so a chunk costs one promise and one object however many
 * texts it holds; the runner writes each text's result into its chunk. `DynamicBatcher` is the
 * same batcher for callers that queue one item at a time (a chunk of one).
 */
import { AbandonedItemError, BatcherClosedError, InferenceError, QueueFullError } from "../errors/errors.js";
import { BatchQueue, MAX_ITEM_TOKENS } from "./batch-queue.js";

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

/** A batch as cut: item k is item `indices[k]` of `chunks[k]`, sorted by tokens. */
export interface CutBatch<C> {
  readonly size: number;
  readonly chunks: readonly C[];
  readonly indices: Int32Array;
  readonly tokens: Int32Array;
}

export interface ChunkRunner<C, P> {
  /** Item `index` of `chunk`'s tokens: a whole number above 0 (its price in the batch). */
  tokens(chunk: C, index: number): number;
  /**
   * Synchronous work for a batch (gathering its inputs). Called for the NEXT batch while the
   * current one runs. Items arrive sorted by length.
   */
  prepare(batch: CutBatch<C>): P;
  /** Runs a prepared batch and stores each item's result in its chunk; a rejection fails the batch's chunks. */
  run(prepared: P, batch: CutBatch<C>): Promise<void>;
  /**
   * Batches handed to `run` at a time (default 1). Above 1 when the runner queues them itself (a
   * thread running one at a time): the next batch then starts as the last ends, without waiting
   * for this thread to hear of it.
   */
  readonly depth?: number | undefined;
}

export interface BatcherHooks {
  /** Called once per batch when it is cut (metrics). Must not throw; errors are ignored. */
  onBatch?: ((stats: BatchStats) => void) | undefined;
  /** Clock in milliseconds (default `performance.now`); the wait timer still uses `setTimeout`. */
  now?: (() => number) | undefined;
}

/** A queued chunk: one per `enqueue`, whatever its size. */
interface Group<C> {
  readonly chunk: C;
  /** Each item's queue slot while it waits, -1 once cut. */
  readonly slots: Int32Array;
  /** Items not yet cut into a batch. */
  waiting: number;
  /** Items whose batch has not finished. */
  unfinished: number;
  settled: boolean;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

interface Batch<C, P> {
  readonly groups: readonly Group<C>[];
  readonly cut: CutBatch<C>;
  readonly prepared: P;
}

export const DEFAULT_MIN_FILL_RATIO = 0.5;

export class ChunkBatcher<C, P> {
  private readonly runner: ChunkRunner<C, P>;
  private readonly limits: BatchLimits & { minFillRatio: number };
  private readonly depth: number;
  private readonly onBatch: ((stats: BatchStats) => void) | undefined;
  private readonly now: () => number;

  private readonly queue = new BatchQueue<Group<C>>();
  /** Cut and prepared, waiting for a free place at the runner. */
  private ahead: Batch<C, P> | undefined;
  /** Batches handed to the runner and not finished. */
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The timer fired for the current oldest item (trusted over `now`, which may be a fake clock). */
  private waitElapsed = false;
  private pumpScheduled = false;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private capacityWaiters: (() => void)[] = [];

  constructor(runner: ChunkRunner<C, P>, limits: BatchLimits, hooks: BatcherHooks = {}) {
    this.runner = runner;
    this.limits = { ...limits, minFillRatio: limits.minFillRatio ?? DEFAULT_MIN_FILL_RATIO };
    this.depth = Math.max(1, runner.depth ?? 1);
    this.onBatch = hooks.onBatch;
    this.now = hooks.now ?? (() => performance.now());
  }

  /**
   * Queues a chunk's `size` items; resolves once every one has run (its results are in the chunk),
   * in the order the runner wrote them. Rejects with `QueueFullError` when the queue is full (unless
   * `overCapacity`: a chunk queued whole once the caller saw room), `BatcherClosedError` after
   * `close()`, `InferenceError` when a batch holding one of its items failed, and
   * `AbandonedItemError` when `signal` aborts while some of its items still wait: those leave the
   * queue unrun (items already cut run to the end, for nobody). A rebalance gives up a chunk this way
   * instead of running it for nobody.
   */
  enqueue(chunk: C, size: number, signal?: AbortSignal, options: { overCapacity?: boolean } = {}): Promise<void> {
    if (this.closing) return Promise.reject(new BatcherClosedError());
    if (signal?.aborted) return Promise.reject(new AbandonedItemError());
    if (!this.hasCapacity && !options.overCapacity)
      return Promise.reject(new QueueFullError(this.limits.queueCapacity));
    for (let i = 0; i < size; i++) {
      const tokens = this.runner.tokens(chunk, i);
      if (!(Number.isInteger(tokens) && tokens > 0 && tokens <= MAX_ITEM_TOKENS)) {
        return Promise.reject(
          new RangeError(`an item's tokens must be a whole number from 1 to ${MAX_ITEM_TOKENS}, got ${tokens}`),
        );
      }
    }
    if (size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const group: Group<C> = {
        chunk,
        slots: new Int32Array(size),
        waiting: size,
        unfinished: size,
        settled: false,
        signal,
        onAbort: undefined,
        resolve,
        reject,
      };
      const now = this.now();
      for (let i = 0; i < size; i++) group.slots[i] = this.queue.push(group, i, this.runner.tokens(chunk, i), now);
      if (signal) {
        group.onAbort = () => this.abandon(group);
        signal.addEventListener("abort", group.onAbort, { once: true });
      }
      this.schedulePump();
    });
  }

  /** Items waiting, not yet cut into a batch. */
  get queued(): number {
    return this.queue.size;
  }

  get hasCapacity(): boolean {
    return this.queue.size < this.limits.queueCapacity;
  }

  /** Resolves once the queue has room (or the batcher closes, when `enqueue` rejects instead). */
  async room(): Promise<void> {
    while (!this.closing && !this.hasCapacity) await this.whenCapacity();
  }

  /** Resolves when the queue has room again, or the batcher is closed (so a paused consumer wakes up either way). */
  whenCapacity(): Promise<void> {
    if (this.hasCapacity || this.closing) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
  }

  /** Stops accepting chunks, runs everything queued and resolves when all work has finished. */
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

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** The caller gave up: its items still waiting leave the queue; the chunk rejects. */
  private abandon(group: Group<C>): void {
    if (group.settled || group.waiting === 0) return;
    this.dropWaiting(group);
    this.settle(group, new AbandonedItemError());
    if (this.queue.size === 0) this.clearTimer();
    if (this.hasCapacity) this.wakeCapacityWaiters();
    this.schedulePump();
  }

  private dropWaiting(group: Group<C>): void {
    if (group.waiting === 0) return;
    for (let i = 0; i < group.slots.length; i++) {
      const slot = group.slots[i] as number;
      if (slot < 0) continue;
      this.queue.remove(slot);
      group.slots[i] = -1;
    }
    group.waiting = 0;
  }

  private settle(group: Group<C>, error?: unknown): void {
    if (group.settled) return;
    group.settled = true;
    if (group.onAbort) group.signal?.removeEventListener("abort", group.onAbort);
    if (error === undefined) group.resolve();
    else group.reject(error);
  }

  /** The single decision point: cut a batch when the slot ahead is free, start it when the runner has room. */
  private pump(): void {
    for (;;) {
      if (this.ahead === undefined) {
        const reason = this.cutReason();
        if (reason === undefined) break;
        this.ahead = this.cut(reason); // undefined when prepare failed: try the next batch
      } else if (this.running < this.depth) {
        const batch = this.ahead;
        this.ahead = undefined;
        this.start(batch);
      } else {
        break;
      }
    }
    this.armTimer();
    if (this.closing && this.queue.size === 0 && this.ahead === undefined && this.running === 0) this.drained?.();
  }

  private cutReason(): CutReason | undefined {
    const oldest = this.queue.oldest;
    if (oldest < 0) return undefined;
    const { maxBatchSize, maxBatchTokens, maxWaitMs } = this.limits;
    const queued = this.queue.size;
    if (queued >= maxBatchSize) return "size";
    // The whole queue would not fit one batch: waiting cannot make the oldest item's batch bigger.
    if (this.queue.maxTokens * queued >= maxBatchTokens) return "tokens";
    // Under load the next batch keeps filling while this one runs; cutting it on time now would
    // freeze it at whatever arrived in the first few milliseconds.
    if (this.running > 0 && !this.closing) return undefined;
    if (this.waitElapsed || this.now() - this.queue.enqueuedAt(oldest) >= maxWaitMs) return "wait";
    if (this.closing) return "close";
    return undefined;
  }

  /** Takes the next batch out of the queue and prepares it; fails its chunks if prepare throws. */
  private cut(reason: CutReason): Batch<C, P> | undefined {
    const queue = this.queue;
    const cutAt = this.now();
    const queueWaitMs = cutAt - queue.enqueuedAt(queue.oldest);
    const size = queue.select(this.limits);
    const groups = new Array<Group<C>>(size);
    const chunks = new Array<C>(size);
    const indices = new Int32Array(size);
    const tokens = new Int32Array(size);
    const queueWaitsMs = new Array<number>(size);
    let realTokens = 0;
    for (let k = 0; k < size; k++) {
      const slot = queue.picked[k] as number;
      const group = queue.groupAt(slot);
      const index = queue.indexAt(slot);
      groups[k] = group;
      chunks[k] = group.chunk;
      indices[k] = index;
      tokens[k] = queue.tokensAt(slot);
      realTokens += tokens[k] as number;
      queueWaitsMs[k] = cutAt - queue.enqueuedAt(slot);
      group.slots[index] = -1;
      group.waiting--;
      queue.remove(slot);
    }
    this.clearTimer();
    this.waitElapsed = false;
    if (this.hasCapacity) this.wakeCapacityWaiters();

    const stats: BatchStats = {
      size,
      realTokens,
      paddedTokens: (size > 0 ? (tokens[size - 1] as number) : 0) * size,
      reason,
      queueWaitMs,
      queueWaitsMs,
      queued: queue.size,
    };
    try {
      this.onBatch?.(stats);
    } catch {
      // Metrics must never fail inference.
    }

    const batch: CutBatch<C> = { size, chunks, indices, tokens };
    try {
      return { groups, cut: batch, prepared: this.runner.prepare(batch) };
    } catch (error) {
      this.fail(groups, error);
      return undefined;
    }
  }

  private start(batch: Batch<C, P>): void {
    this.running++;
    void this.run(batch);
  }

  private async run(batch: Batch<C, P>): Promise<void> {
    try {
      // runner.run is called synchronously here, so the model starts before the next batch is prepared.
      await this.runner.run(batch.prepared, batch.cut);
      for (const group of batch.groups) {
        if (--group.unfinished === 0) this.settle(group);
      }
    } catch (error) {
      this.fail(batch.groups, error);
    } finally {
      this.running--;
      this.pump();
    }
  }

  /** A batch failed: each of its chunks rejects, and their items still waiting leave the queue. */
  private fail(groups: readonly Group<C>[], cause: unknown): void {
    const error = new InferenceError(`inference failed for a batch of ${groups.length} items`, { cause });
    for (const group of groups) {
      group.unfinished--;
      if (group.settled) continue;
      this.dropWaiting(group);
      this.settle(group, error);
    }
    if (this.hasCapacity) this.wakeCapacityWaiters();
  }

  /** Only while the runner is idle: otherwise the end of the running batch decides (see cutReason). */
  private armTimer(): void {
    const oldest = this.queue.oldest;
    if (this.timer || this.ahead || this.running > 0 || this.closing || oldest < 0) return;
    const delay = Math.max(0, this.queue.enqueuedAt(oldest) + this.limits.maxWaitMs - this.now());
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

/** What `DynamicBatcher` runs: items as they were submitted, one result each. */
export interface BatchRunner<T extends BatchItem, P, R> {
  /**
   * Synchronous CPU work for a batch (padding, building tensors). Called for the NEXT batch while
   * the current one runs. Items arrive sorted by length; the runner pads to the batch's own longest item.
   */
  prepare(items: readonly T[]): P;
  /** Runs a prepared batch; resolves with exactly one result per item, in the order of `items` given to prepare. */
  run(prepared: P, items: readonly T[]): Promise<R[]>;
}

interface Single<T, R> {
  readonly item: T;
  result?: R;
}

/** The batcher for callers that queue items one at a time: each is a chunk of one with its own promise. */
export class DynamicBatcher<T extends BatchItem, P, R> {
  private readonly batcher: ChunkBatcher<Single<T, R>, { prepared: P; items: T[] }>;

  constructor(runner: BatchRunner<T, P, R>, limits: BatchLimits, hooks: BatcherHooks = {}) {
    this.batcher = new ChunkBatcher<Single<T, R>, { prepared: P; items: T[] }>(
      {
        tokens: (single) => single.item.tokens,
        prepare: (batch) => {
          const items = batch.chunks.map((single) => single.item);
          return { prepared: runner.prepare(items), items };
        },
        run: async ({ prepared, items }, batch) => {
          const results = await runner.run(prepared, items);
          if (results.length !== batch.size) {
            throw new Error(`the runner returned ${results.length} results for ${batch.size} items`);
          }
          batch.chunks.forEach((single, k) => {
            single.result = results[k] as R;
          });
        },
      },
      limits,
      hooks,
    );
  }

  /**
   * Queues one item; rejects with `QueueFullError` when the queue is full, `BatcherClosedError` after
   * `close()`, and `AbandonedItemError` when `signal` aborts while the item still waits (an item
   * already in a batch runs to the end). `overCapacity` admits it beyond the capacity.
   */
  submit(item: T, signal?: AbortSignal, options: { overCapacity?: boolean } = {}): Promise<R> {
    const single: Single<T, R> = { item };
    return this.batcher.enqueue(single, 1, signal, options).then(() => single.result as R);
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
      if (!this.batcher.hasCapacity) await this.batcher.room();
      const result = this.submit(item);
      result.catch(() => {});
      results.push(result);
    }
    return results;
  }

  get queued(): number {
    return this.batcher.queued;
  }

  get hasCapacity(): boolean {
    return this.batcher.hasCapacity;
  }

  room(): Promise<void> {
    return this.batcher.room();
  }

  whenCapacity(): Promise<void> {
    return this.batcher.whenCapacity();
  }

  close(): Promise<void> {
    return this.batcher.close();
  }
}
