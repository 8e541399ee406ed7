/** De-duplication inside one process, for the file/stdin source: ids remembered for the TTL. */
import type { Deduplicator } from "./dedup.js";

export class MemoryDeduplicator implements Deduplicator {
  /** id -> expiry time (ms); Map keeps insertion order, so expired entries are pruned from the front. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(ids: readonly string[]): Promise<boolean[]> {
    const now = this.now();
    this.prune(now);
    return ids.map((id) => {
      const expiry = this.seen.get(id);
      if (expiry !== undefined && expiry > now) return false;
      this.seen.delete(id);
      this.seen.set(id, now + this.ttlMs);
      return true;
    });
  }

  private prune(now: number): void {
    for (const [id, expiry] of this.seen) {
      if (expiry > now) break;
      this.seen.delete(id);
    }
  }

  async close(): Promise<void> {
    this.seen.clear();
  }
}
