/** Options of RedisDeduplicator; every default lives in REDIS_DEDUP_DEFAULTS, nowhere else. */

export const REDIS_DEDUP_DEFAULTS = {
  pendingTtlSeconds: 120,
  commandTimeoutMs: 2_000,
  connectTimeoutMs: 2_000,
  maxReconnectDelayMs: 2_000,
  probeIntervalMs: 1_000,
} as const;

export interface RedisDeduplicatorOptions {
  /** Redis URL (`config.dedup.redisUrl`). */
  redisUrl: string;
  /** Prefix of the keys (`config.dedup.keyPrefix`); the key is prefix + model revision + ":" + id. */
  keyPrefix: string;
  /** Model revision (`config.model.revision`): a new revision re-tags every id. */
  modelRevision: string;
  /** How long a confirmed id is remembered, in seconds (`config.dedup.ttlSeconds`). */
  ttlSeconds: number;
  /**
   * How long a claim stays pending without `confirm`, in seconds: a crashed worker's claims free
   * themselves after this. Keep it well above the longest batch (consume, infer, commit).
   * @defaultValue 120, or ttlSeconds when that is shorter
   */
  pendingTtlSeconds?: number;
  /**
   * `fail`: calls reject with the retriable DedupUnavailableError while Redis is down (pause and
   * retry); `bypass`: `claim` answers "all new" and counts it (`config.dedup.onRedisUnavailable`).
   */
  onRedisUnavailable: "fail" | "bypass";
  /** Keep a result cache on the same connection as `results` (`config.dedup.resultCache`). @defaultValue false */
  resultCache?: boolean;
  /** A command that gets no reply within this many ms fails (Redis hung or unreachable). @defaultValue 2000 */
  commandTimeoutMs?: number;
  /** Connecting gives up after this many ms; the first claim waits at most this long for the first connection. @defaultValue 2000 */
  connectTimeoutMs?: number;
  /** Upper bound of the reconnect back-off, in ms (ioredis reconnects by itself). @defaultValue 2000 */
  maxReconnectDelayMs?: number;
  /** While connected but not answering, PING every this many ms until Redis answers. @defaultValue 1000 */
  probeIntervalMs?: number;
  /** Called when Redis becomes unavailable (false) and, after a PING answered, available again (true). */
  onAvailabilityChange?: (up: boolean) => void;
}
