/** The de-duplication boundary the pipeline sees; Redis behind it for Kafka, memory for files. */

export interface Deduplicator {
  /**
   * Claims the ids for the model revision in one step: returns, for each id, whether it was new
   * (true: tag it) or already seen within the TTL (false: skip it). Ids repeated inside one call
   * count as seen after their first occurrence.
   */
  claim(ids: readonly string[]): Promise<boolean[]>;
  close(): Promise<void>;
}
