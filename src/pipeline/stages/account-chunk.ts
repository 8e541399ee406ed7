/**
 * Account: once a chunk's outputs are committed, its claims are confirmed, its results cached, and
 * it is counted and measured; a shadow model is handed its tagged messages. Never before the
 * commit: a chunk read again is counted once.
 */
import type { CachedResult } from "../../dedup/result-cache.js";
import type { DeadLetterCode } from "../../events/dead-letter.js";
import type { ClaimingDeduplicator, Classified, CommittedTag } from "../ports.js";
import type { EventKind, RunCounters } from "../run-counters.js";

/** What one chunk made, for the accounting after its commit. */
export interface ChunkMade {
  records: number;
  tombstones: number;
  /** Messages whose language field was not a language tag (ignored). */
  langIgnored: number;
  taggedIds: readonly string[];
  duplicates: number;
  /** The events, by language and label. */
  events: ReadonlyArray<EventKind & { count: number }>;
  deadLetters: readonly DeadLetterCode[];
  cacheHits: number;
  cacheWrites: readonly CachedResult<Classified>[];
  /** Source times of the events that have one. */
  timestamps: readonly number[];
  /** The chunk's de-duplication (its model's revision). */
  dedup: ClaimingDeduplicator | undefined;
  /** While a shadow runs: the chunk's tagged messages and where they go. */
  tags: readonly CommittedTag[];
  offer: ((tagged: readonly CommittedTag[]) => void) | undefined;
}

export interface Accounts {
  counters: RunCounters;
  recordLatency(ms: number): void;
  /** Records still to read in the chunk's partition after it. */
  setLag(lag: number): void;
}

export async function accountChunk(made: ChunkMade, lag: number, accounts: Accounts): Promise<void> {
  const { counters } = accounts;
  const committedAt = Date.now();
  await Promise.all([made.dedup?.confirm(made.taggedIds), made.dedup?.results?.putCached(made.cacheWrites)]);
  for (const timestamp of made.timestamps) accounts.recordLatency(committedAt - timestamp);
  accounts.setLag(lag);
  counters.records += made.records;
  counters.countEvents(made.events);
  counters.duplicates += made.duplicates;
  counters.cacheHits += made.cacheHits;
  for (const code of made.deadLetters) counters.deadLetter(code);
  counters.tombstones += made.tombstones;
  counters.inputLangIgnored += made.langIgnored;
  if (made.tags.length > 0) made.offer?.(made.tags);
}

/** Records still to read after `lastOffset`, as the fetch's high watermark saw it. */
export function lagAfter(highWatermark: string, lastOffset: string): number {
  return Math.max(0, Number(BigInt(highWatermark) - BigInt(lastOffset) - 1n));
}
