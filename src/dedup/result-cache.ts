/**
 * Optional result cache: the small JSON result of an earlier message with the same normalised text
 * (NFC, trimmed, whitespace collapsed; sha256) and model revision, kept for the dedup TTL. A cache,
 * not a source of truth: when Redis fails, `getCached` answers "miss" and `putCached` drops the
 * entries, both counted in `errors`; neither ever rejects.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

export interface ResultCacheOptions<T> {
  /** Same prefix as the seen-keys; cache keys are prefix + "result:" + revision + ":" + hash. */
  keyPrefix: string;
  modelRevision: string;
  ttlSeconds: number;
  /** Checks a parsed value and returns it typed, or undefined to treat it as a miss. Default: accept it. */
  decode?: (value: unknown) => T | undefined;
}

export interface CachedResult<T> {
  textHash: string;
  result: T;
}

/** NFC, trimmed, runs of whitespace as one space: texts differing only there share a result. */
export function normaliseText(text: string): string {
  return text.normalize("NFC").trim().replace(/\s+/gu, " ");
}

/** The cache key part for a text: sha256 (hex) of its normalised form. */
export function textHash(text: string): string {
  return createHash("sha256").update(normaliseText(text), "utf8").digest("hex");
}

export class ResultCache<T = unknown> {
  /** Failed Redis calls (each answered as misses or dropped). */
  errors = 0;
  private readonly prefix: string;
  private readonly decode: (value: unknown) => T | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly options: ResultCacheOptions<T>,
  ) {
    this.prefix = `${options.keyPrefix}result:${options.modelRevision}:`;
    this.decode = options.decode ?? ((value) => value as T);
  }

  /** One MGET: the cached result per hash, undefined for a miss (or an unreadable entry). */
  async getCached(textHashes: readonly string[]): Promise<(T | undefined)[]> {
    if (textHashes.length === 0) return [];
    let values: (string | null)[];
    try {
      values = await this.redis.mget(textHashes.map((h) => this.prefix + h));
    } catch {
      this.errors++;
      return textHashes.map(() => undefined);
    }
    return values.map((raw) => {
      if (raw === null) return undefined;
      try {
        return this.decode(JSON.parse(raw));
      } catch {
        return undefined;
      }
    });
  }

  /** One pipeline of SET EX (a single round trip). */
  async putCached(entries: readonly CachedResult<T>[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { textHash, result } of entries) {
      pipeline.set(this.prefix + textHash, JSON.stringify(result), "EX", this.options.ttlSeconds);
    }
    try {
      const replies = await pipeline.exec();
      if (replies?.some(([err]) => err)) this.errors++;
    } catch {
      this.errors++;
    }
  }
}
