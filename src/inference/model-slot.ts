/**
 * The model in use, replaceable while it is used: each batch takes a lease on the current value at
 * its start and releases it at its end, so a replacement never changes a batch half-way. A replaced
 * value is closed once its last lease is released (in-flight batches finish on it), never before.
 */
import type { Config } from "../config/index.js";

/** The model in use and how to load another (a model switch): the caller replaces the slot's value. */
export interface SwitchableModels<T> {
  readonly slot: ModelSlot<T>;
  /** Loads the model `model` names (with what goes with it, e.g. its revision's de-duplication). */
  load(model: Config["model"]): Promise<T>;
}

export interface Lease<T> {
  readonly value: T;
  /** Idempotent: a second call does nothing. */
  release(): void;
}

interface Held<T> {
  value: T;
  leases: number;
  retired: boolean;
  closed?: Promise<void>;
}

export class ModelSlot<T> {
  private held: Held<T>;
  private readonly retiring = new Set<Held<T>>();
  private closing: Promise<void> | undefined;

  constructor(
    initial: T,
    private readonly closeValue: (value: T) => Promise<void>,
  ) {
    this.held = { value: initial, leases: 0, retired: false };
  }

  get current(): T {
    return this.held.value;
  }

  /** Leases still held on replaced values (their batches run on). */
  get retiringLeases(): number {
    let n = 0;
    for (const h of this.retiring) n += h.leases;
    return n;
  }

  /** A lease on the current value; release it when the work that uses it is done. */
  acquire(): Lease<T> {
    const held = this.held;
    held.leases++;
    let released = false;
    return {
      value: held.value,
      release: () => {
        if (released) return;
        released = true;
        held.leases--;
        if (held.retired && held.leases === 0) void this.closeHeld(held);
      },
    };
  }

  /**
   * Makes `next` the value new leases get and returns the one it replaced, which is closed when its
   * last lease is released. `whenRetired` resolves once that happened.
   */
  replace(next: T): { previous: T; whenRetired: Promise<void> } {
    if (this.closing) throw new Error("the model slot is closed");
    const previous = this.held;
    this.held = { value: next, leases: 0, retired: false };
    previous.retired = true;
    this.retiring.add(previous);
    const whenRetired = previous.leases === 0 ? this.closeHeld(previous) : this.retiredPromise(previous);
    return { previous: previous.value, whenRetired };
  }

  /** Closes a value loaded for the slot that never entered it (the slot closed meanwhile). */
  dispose(value: T): Promise<void> {
    return this.closeValue(value).catch(() => {});
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** Closes the current value and every replaced one (callers stop their batches first). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const all = [...this.retiring, this.held];
      await Promise.all(all.map((h) => this.closeHeld(h)));
    })();
    return this.closing;
  }

  private readonly waiters = new Map<Held<T>, Array<() => void>>();

  private retiredPromise(held: Held<T>): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiters.set(held, [...(this.waiters.get(held) ?? []), resolve]);
    });
  }

  private closeHeld(held: Held<T>): Promise<void> {
    held.closed ??= this.closeValue(held.value)
      .catch(() => {})
      .finally(() => {
        this.retiring.delete(held);
        for (const resolve of this.waiters.get(held) ?? []) resolve();
        this.waiters.delete(held);
      });
    return held.closed;
  }
}
