/**
 * De-duplication inside one process, for the file/stdin source: ids remembered for the TTL, and
 * at most `maxBytes` of them, so a long stdin run of unique ids cannot grow without end.
 */
import type { Deduplicator } from "./dedup.js";

/** V8's cost of a remembered id besides its characters: map slot, string header, expiry. */
const ENTRY_OVERHEAD_BYTES = 64;

export interface MemoryDeduplicatorOptions {
  /** Most bytes of remembered ids (UTF-8, plus a per-entry overhead); the oldest go first. */
  maxBytes?: number;
  now?: () => number;
}

export class MemoryDeduplicator implements Deduplicator {
  /** id -> expiry time (ms); Map keeps claim order, so the oldest (and expired) ids are at the front. */
  private readonly seen = new Map<string, number>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(
    private readonly ttlMs: number,
    options: MemoryDeduplicatorOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.now = options.now ?? Date.now;
  }

  /** Estimated bytes the remembered ids take. */
  get bytesUsed(): number {
    return this.bytes;
  }

  async claim(ids: readonly string[]): Promise<boolean[]> {
    const now = this.now();
    this.prune(now);
    const claimed = ids.map((id) => {
      const expiry = this.seen.get(id);
      if (expiry !== undefined && expiry > now) return false;
      if (expiry !== undefined) this.forget(id);
      this.seen.set(id, now + this.ttlMs);
      this.bytes += costOf(id);
      return true;
    });
    // After the whole call, so ids repeated inside it still count as seen.
    for (const id of this.seen.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.forget(id);
    }
    return claimed;
  }

  private prune(now: number): void {
    for (const [id, expiry] of this.seen) {
      if (expiry > now) break;
      this.forget(id);
    }
  }

  private forget(id: string): void {
    this.seen.delete(id);
    this.bytes -= costOf(id);
  }

  async close(): Promise<void> {
    this.seen.clear();
    this.bytes = 0;
  }
}

function costOf(id: string): number {
  return ENTRY_OVERHEAD_BYTES + Buffer.byteLength(id, "utf8");
}
