/**
 * The de-duplication boundary the pipeline sees: the file job's one-step claim, and the Kafka
 * chunk's claim → confirm after the commit (or release on failure), with the optional result
 * cache. Redis is behind them for Kafka (`RedisDeduplicator`), memory for files.
 */

export interface Deduplicator {
  /**
   * Claims the ids for the model revision in one step: returns, for each id, whether it was new
   * (true: tag it) or already seen within the TTL (false: skip it). Ids repeated inside one call
   * count as seen after their first occurrence.
   */
  claim(ids: readonly string[]): Promise<boolean[]>;
  close(): Promise<void>;
}

/**
 * new: tag it; retaken: tag it (an unfinished earlier claim was taken over); seen: confirmed
 * earlier or repeated in this call, skip; in-flight: another record is being tagged, skip.
 */
export type ClaimOutcome = "new" | "retaken" | "seen" | "in-flight";

/** Results of earlier identical texts (a cache, never a source of truth: it neither rejects nor is trusted unchecked). */
export interface ResultStore {
  /** The cached value per text hash, undefined for a miss. */
  getCached(textHashes: readonly string[]): Promise<unknown[]>;
  putCached(entries: readonly { textHash: string; result: unknown }[]): Promise<void>;
}

/**
 * A chunk's de-duplication: a claim holds its ids pending until the chunk's outputs are committed
 * (confirm) or given up (release), so a failure between the two never loses a record.
 */
export interface ClaimingDeduplicator {
  /** Fails with DedupUnavailableError while the store does not answer (`fail` mode). */
  claimDetailed(ids: readonly string[], sources?: readonly string[]): Promise<ClaimOutcome[]>;
  confirm(ids: readonly string[]): Promise<void>;
  release(ids: readonly string[]): Promise<void>;
  /** The result cache of the same revision, when it is on. */
  readonly results?: ResultStore | undefined;
}
