/**
 * The batcher's queue: each waiting item is a slot in a few typed arrays (its chunk, its index in
 * the chunk, its tokens, when it came), linked twice: in arrival order (the oldest is the head) and
 * in a bucket per token length (arrival order within it). A bitmap marks the lengths present.
 * Queuing or removing an item is O(1); choosing a batch reads only the oldest item's neighbours by
 * length (at most 2 × maxBatchSize lengths, skipping empty lengths 32 at a time), never the whole
 * queue: with 100,000 items queued a cut costs what it costs with 1,000.
 */
import { chooseRun, type SelectLimits } from "./select-batch.js";

export type { SelectLimits };

/** Longest item the buckets take (a bucket per length); models stop at a few thousand tokens. */
export const MAX_ITEM_TOKENS = 1 << 20;

const NONE = -1;

export class BatchQueue<G> {
  private groups: (G | undefined)[] = [];
  private index = new Int32Array(64);
  private tokens = new Int32Array(64);
  private enqueued = new Float64Array(64);
  private nextArrival = new Int32Array(64);
  private prevArrival = new Int32Array(64);
  private nextSame = new Int32Array(64);
  private prevSame = new Int32Array(64);
  private free = new Int32Array(64);
  private freeCount = 0;
  private slots = 0;
  private head = NONE;
  private tail = NONE;
  private bucketHead = new Int32Array(1024).fill(NONE);
  private bucketTail = new Int32Array(1024).fill(NONE);
  private bucketCount = new Int32Array(1024);
  private occupied = new Uint32Array(1024 / 32);
  /** Lengths around the oldest item, ascending, for `chooseRun`. */
  private window = new Int32Array(0);
  /** The slots of the last `select`, sorted by (tokens, arrival). */
  picked = new Int32Array(0);
  size = 0;
  /** Lengths and buckets looked at by `select` so far: what the tests count to check its cost. */
  steps = 0;

  /** Queues item `index` of `group`; returns its slot. `tokens`: a whole number, 1 to MAX_ITEM_TOKENS. */
  push(group: G, index: number, tokens: number, now: number): number {
    const slot = this.freeCount > 0 ? (this.free[--this.freeCount] as number) : this.newSlot();
    this.groups[slot] = group;
    this.index[slot] = index;
    this.tokens[slot] = tokens;
    this.enqueued[slot] = now;
    // Arrival list.
    this.prevArrival[slot] = this.tail;
    this.nextArrival[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else this.nextArrival[this.tail] = slot;
    this.tail = slot;
    // Its length's bucket.
    if (tokens >= this.bucketHead.length) this.growBuckets(tokens);
    const last = this.bucketTail[tokens] as number;
    this.prevSame[slot] = last;
    this.nextSame[slot] = NONE;
    if (last === NONE) {
      this.bucketHead[tokens] = slot;
      this.occupied[tokens >>> 5] = (this.occupied[tokens >>> 5] as number) | (1 << (tokens & 31));
    } else this.nextSame[last] = slot;
    this.bucketTail[tokens] = slot;
    this.bucketCount[tokens] = (this.bucketCount[tokens] as number) + 1;
    this.size++;
    return slot;
  }

  /** Takes a queued item out (cut into a batch, or abandoned). */
  remove(slot: number): void {
    const prev = this.prevArrival[slot] as number;
    const next = this.nextArrival[slot] as number;
    if (prev === NONE) this.head = next;
    else this.nextArrival[prev] = next;
    if (next === NONE) this.tail = prev;
    else this.prevArrival[next] = prev;
    const tokens = this.tokens[slot] as number;
    const before = this.prevSame[slot] as number;
    const after = this.nextSame[slot] as number;
    if (before === NONE) this.bucketHead[tokens] = after;
    else this.nextSame[before] = after;
    if (after === NONE) this.bucketTail[tokens] = before;
    else this.prevSame[after] = before;
    const left = (this.bucketCount[tokens] as number) - 1;
    this.bucketCount[tokens] = left;
    if (left === 0) this.occupied[tokens >>> 5] = (this.occupied[tokens >>> 5] as number) & ~(1 << (tokens & 31));
    this.groups[slot] = undefined;
    this.free[this.freeCount++] = slot;
    this.size--;
  }

  /** The oldest item's slot, or -1 when the queue is empty. */
  get oldest(): number {
    return this.head;
  }

  groupAt(slot: number): G {
    return this.groups[slot] as G;
  }

  indexAt(slot: number): number {
    return this.index[slot] as number;
  }

  tokensAt(slot: number): number {
    return this.tokens[slot] as number;
  }

  enqueuedAt(slot: number): number {
    return this.enqueued[slot] as number;
  }

  /** The longest queued item's tokens (0 when empty). */
  get maxTokens(): number {
    return Math.max(0, this.below(this.bucketHead.length - 1));
  }

  /**
   * Chooses the next batch (the rule of `chooseRun`, around the oldest item) and puts its slots in
   * `picked[0, n)`, sorted by length, of equal lengths the earliest arrivals; returns n (0 when the
   * queue is empty). The slots stay queued: the caller reads them, then removes each.
   */
  select(limits: SelectLimits): number {
    const oldest = this.head;
    if (oldest === NONE) return 0;
    const own = this.tokens[oldest] as number;
    // No run holds more than this with the oldest item in it (longest × count ≤ maxBatchTokens).
    const most = Math.max(1, Math.min(limits.maxBatchSize, Math.floor(limits.maxBatchTokens / own)));
    const reach = most - 1;
    if (this.window.length < 2 * reach + 1) this.window = new Int32Array(2 * reach + 1);
    const window = this.window;
    // Shorter lengths, nearest first, written leftwards from the oldest's place; none below
    // minFillRatio × own can join (the longest is at least `own`).
    let lo = reach;
    for (let length = this.below(own - 1); length > 0 && reach - lo < reach; length = this.below(length - 1)) {
      this.steps++;
      if (length < limits.minFillRatio * own) break;
      for (let n = this.bucketCount[length] as number; n > 0 && reach - lo < reach; n--) window[--lo] = length;
    }
    window[reach] = own;
    // The oldest's own length (it is first of its bucket), then longer ones; none past what two
    // items of it could hold, or past own ÷ minFillRatio.
    let hi = reach;
    for (let length = own; length > 0 && hi - reach < reach; length = this.above(length + 1)) {
      this.steps++;
      if (length > own && (2 * length > limits.maxBatchTokens || limits.minFillRatio * length > own)) break;
      let n = (this.bucketCount[length] as number) - (length === own ? 1 : 0);
      for (; n > 0 && hi - reach < reach; n--) window[++hi] = length;
    }
    this.steps += hi - lo + 1;
    const { from, to } = chooseRun(window, lo, hi, reach, limits);
    const count = to - from + 1;
    if (this.picked.length < count) this.picked = new Int32Array(Math.max(count, 2 * this.picked.length));
    // Within a length, the earliest arrivals: the bucket's head onwards (the oldest item heads its own).
    let at = 0;
    for (let i = from; i <= to; ) {
      const length = window[i] as number;
      let slot = this.bucketHead[length] as number;
      for (; i <= to && window[i] === length; i++) {
        this.picked[at++] = slot;
        slot = this.nextSame[slot] as number;
      }
    }
    return count;
  }

  /** The longest length ≤ `length` with an item queued, or -1. */
  private below(length: number): number {
    if (length < 0) return NONE;
    let w = length >>> 5;
    let word = (this.occupied[w] as number) & (0xffffffff >>> (31 - (length & 31)));
    while (word === 0) {
      if (--w < 0) return NONE;
      word = this.occupied[w] as number;
      this.steps++;
    }
    return w * 32 + 31 - Math.clz32(word);
  }

  /** The shortest length ≥ `length` with an item queued, or -1. */
  private above(length: number): number {
    if (length >= this.bucketHead.length) return NONE;
    let w = length >>> 5;
    let word = ((this.occupied[w] as number) & (0xffffffff << (length & 31))) >>> 0;
    while (word === 0) {
      if (++w >= this.occupied.length) return NONE;
      word = this.occupied[w] as number;
      this.steps++;
    }
    return w * 32 + 31 - Math.clz32(word & -word);
  }

  private newSlot(): number {
    if (this.slots === this.index.length) {
      const grow = <A extends Int32Array | Float64Array>(a: A): A => {
        const bigger = new (a.constructor as new (n: number) => A)(a.length * 2);
        bigger.set(a);
        return bigger;
      };
      this.index = grow(this.index);
      this.tokens = grow(this.tokens);
      this.enqueued = grow(this.enqueued);
      this.nextArrival = grow(this.nextArrival);
      this.prevArrival = grow(this.prevArrival);
      this.nextSame = grow(this.nextSame);
      this.prevSame = grow(this.prevSame);
      this.free = grow(this.free);
    }
    return this.slots++;
  }

  private growBuckets(tokens: number): void {
    let size = this.bucketHead.length;
    while (size <= tokens) size *= 2;
    const head = new Int32Array(size).fill(NONE);
    const tail = new Int32Array(size).fill(NONE);
    const count = new Int32Array(size);
    const occupied = new Uint32Array(size / 32);
    head.set(this.bucketHead);
    tail.set(this.bucketTail);
    count.set(this.bucketCount);
    occupied.set(this.occupied);
    this.bucketHead = head;
    this.bucketTail = tail;
    this.bucketCount = count;
    this.occupied = occupied;
  }
}
