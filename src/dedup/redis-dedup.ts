/**
 * De-duplication across workers with Redis: one atomic Lua script per call, whatever the number
 * of ids. Key = keyPrefix + modelRevision + ":" + id, so a new model revision re-tags everything.
 *
 * Delivery: claiming marks an id BEFORE its event is published. Were a claim final at once, a
 * crash before the Kafka transaction commits would make the redelivered record look like a
 * duplicate: skipped, offset committed, message LOST. Hence two phases:
 *   claim   -> key pending (`p|token|source`, pendingTtlSeconds, default 120 s), per-call token;
 *   confirm -> after the output is committed: key confirmed (`c|token`) with the full TTL;
 *   release -> work abandoned (aborted transaction, revoked partition, shutdown): compare-and-delete
 *              of keys still pending under our token, so a later owner is not disturbed.
 * Why no message is lost: only a confirmed key makes `claim` say "seen", and confirm follows the
 * commit of that id's output. A pending key under ANOTHER claim never makes a redelivery skip: it
 * is taken over (state "retaken", counted), because it may belong to a crashed or abandoned batch
 * whose record is exactly the one being redelivered; a crash also frees it by itself after the
 * pending TTL, and a failed release or confirm never loses anything (the pending key just expires).
 * The one other "seen" answer — an id repeated inside one claim — is covered by the same batch's
 * commit. When the pipeline passes each record's source (topic/partition/offset) to
 * `claimDetailed`, a key pending for a DIFFERENT record is "in-flight" and may be skipped: that
 * other record is tagged, or redelivered and tagged, until its own offset commits.
 * When an id can be tagged twice: two copies in flight at once without sources (both are tagged);
 * or a pending claim expiring while its work still runs — a batch would have to take longer than
 * pendingTtlSeconds (120 s by default) between claim and commit — and another copy being claimed in
 * that gap; or a confirm that failed (Redis down just after the commit) and a copy arriving later.
 * Redis unavailable: `fail` rejects claims with the retriable DedupUnavailableError (fast: no
 * offline queue, one attempt, command timeout) and reports `onAvailabilityChange(false)`; ioredis
 * reconnects by itself and, once a PING answers, `onAvailabilityChange(true)`. `bypass` answers
 * "all new" and counts it in `counters.bypassedClaims` / `bypassedIds`. confirm/release never reject.
 */
import { randomBytes } from "node:crypto";
import { Redis, ReplyError } from "ioredis";
import type { Config } from "../config/schema.js";
import { errorMessage } from "../errors/error-message.js";
import { ConfigError, DedupUnavailableError, SentimentWorkerError } from "../errors/errors.js";
import type { ClaimingDeduplicator, ClaimOutcome, Deduplicator } from "./dedup.js";
import { REDIS_DEDUP_DEFAULTS, type RedisDeduplicatorOptions } from "./redis-dedup-options.js";
import {
  CLAIM_IN_FLIGHT,
  CLAIM_NEW,
  CLAIM_RETAKEN,
  CLAIM_SEEN,
  type DedupCommands,
  defineDedupCommands,
} from "./redis-scripts.js";
import { ResultCache } from "./result-cache.js";

export type { ClaimOutcome };

const OUTCOMES = new Map<number, ClaimOutcome>([
  [CLAIM_NEW, "new"],
  [CLAIM_RETAKEN, "retaken"],
  [CLAIM_SEEN, "seen"],
  [CLAIM_IN_FLIGHT, "in-flight"],
]);

export interface RedisDedupCounters {
  /** Claim calls answered "all new" because Redis was down (bypass mode), and their ids. */
  bypassedClaims: number;
  bypassedIds: number;
  /** Ids whose unfinished claim by another call was taken over (a redelivery, or a concurrent copy). */
  retaken: number;
  /** Ids confirmed after their pending claim had expired or been taken over (a double tag is possible). */
  lateConfirms: number;
  /** confirm / release calls that failed (Redis down): the pending keys expire by themselves. */
  failedConfirms: number;
  failedReleases: number;
}

interface HeldClaim {
  token: string;
  claimedAt: number;
}

export class RedisDeduplicator implements Deduplicator, ClaimingDeduplicator {
  readonly counters: RedisDedupCounters = {
    bypassedClaims: 0,
    bypassedIds: 0,
    retaken: 0,
    lateConfirms: 0,
    failedConfirms: 0,
    failedReleases: 0,
  };
  /** The result cache on the same connection, when `resultCache` is on. */
  readonly results: ResultCache | undefined;

  private readonly redis: Redis & DedupCommands;
  private readonly prefix: string;
  private readonly pendingTtlSeconds: number;
  private readonly probeIntervalMs: number;
  /** Claims this process holds and has not confirmed or released yet: key -> token. */
  private readonly held = new Map<string, HeldClaim>();
  private readonly firstConnection: Promise<void>;
  private up = false;
  private closed = false;
  private probeTimer: NodeJS.Timeout | undefined;
  /** What the connection last failed with, until it is ready again (said with a failed claim). */
  private connectionError: Error | undefined;

  constructor(private readonly options: RedisDeduplicatorOptions) {
    const d = REDIS_DEDUP_DEFAULTS;
    this.prefix = `${options.keyPrefix}${options.modelRevision}:`;
    this.pendingTtlSeconds = options.pendingTtlSeconds ?? Math.min(d.pendingTtlSeconds, options.ttlSeconds);
    this.probeIntervalMs = options.probeIntervalMs ?? d.probeIntervalMs;
    const connectTimeoutMs = options.connectTimeoutMs ?? d.connectTimeoutMs;
    const maxReconnectDelayMs = options.maxReconnectDelayMs ?? d.maxReconnectDelayMs;
    if (!(this.pendingTtlSeconds >= 1 && this.pendingTtlSeconds <= options.ttlSeconds)) {
      throw new SentimentWorkerError(
        `pendingTtlSeconds (${this.pendingTtlSeconds}) must be between 1 and ttlSeconds (${options.ttlSeconds})`,
      );
    }
    this.redis = defineDedupCommands(
      new Redis(options.redisUrl, {
        // Fail fast instead of queueing while Redis is away; ioredis keeps reconnecting.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: options.commandTimeoutMs ?? d.commandTimeoutMs,
        connectTimeout: connectTimeoutMs,
        retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxReconnectDelayMs),
      }),
    );
    this.firstConnection = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off("ready", done).off("close", done);
        resolve();
      };
      const timer = setTimeout(done, connectTimeoutMs);
      this.redis.once("ready", done).once("close", done);
    });
    this.redis.on("ready", () => {
      this.connectionError = undefined;
      void this.verify();
    });
    this.redis.on("close", () => this.setUp(false));
    // Connection errors are reported through availability; the listener keeps them from crashing.
    this.redis.on("error", (error: Error) => {
      this.connectionError = error;
    });
    this.results = options.resultCache
      ? new ResultCache(this.redis, {
          keyPrefix: options.keyPrefix,
          modelRevision: options.modelRevision,
          ttlSeconds: options.ttlSeconds,
        })
      : undefined;
  }

  /**
   * From the worker's configuration and the revision of the model actually loaded (a hub commit or
   * a local export's hash, not the configured branch name); `extra` adds callbacks, pending TTL.
   */
  static fromConfig(
    config: Config,
    modelRevision: string,
    extra: Partial<Omit<RedisDeduplicatorOptions, "redisUrl" | "keyPrefix" | "modelRevision">> = {},
  ): RedisDeduplicator {
    return new RedisDeduplicator({
      redisUrl: config.dedup.redisUrl,
      keyPrefix: config.dedup.keyPrefix,
      modelRevision,
      ttlSeconds: config.dedup.ttlSeconds,
      onRedisUnavailable: config.dedup.onRedisUnavailable,
      resultCache: config.dedup.resultCache,
      ...extra,
    });
  }

  /**
   * Waits for the first connection (up to the connect timeout): undefined when it is open, else
   * why not. Redis refusing who we are (NOAUTH, WRONGPASS, NOPERM) is a setting to fix, not an
   * outage: it throws a ConfigError naming `dedup.redisUrl`. An unreachable Redis is an outage:
   * claims fail (or bypass) until it answers, as they do when it goes away later.
   */
  async firstConnect(): Promise<string | undefined> {
    await this.firstConnection;
    if (this.redis.status === "ready") return undefined;
    const error = this.connectionError;
    if (error && REFUSED.test(error.message)) {
      throw new ConfigError([
        {
          path: "dedup.redisUrl",
          reason: `Redis refused the connection: ${error.message} (a user and password go in the URL: redis://user:password@host:port)`,
        },
      ]);
    }
    return error?.message ?? `the connection is ${this.redis.status}`;
  }

  /** True while Redis answers (last command or PING succeeded, connection open). */
  get isHealthy(): boolean {
    return this.up;
  }

  /** Number of claims held by this process that still wait for confirm or release. */
  get heldCount(): number {
    return this.held.size;
  }

  /** The Redis key of an id (for tests and tools). */
  keyOf(id: string): string {
    return this.prefix + id;
  }

  /** Deduplicator.claim: true = tag it (new or retaken), false = skip it. Call confirm or release for every true. */
  async claim(ids: readonly string[]): Promise<boolean[]> {
    const outcomes = await this.claimDetailed(ids);
    return outcomes.map((o) => o === "new" || o === "retaken");
  }

  /**
   * claim with the outcome per id. `sources` (parallel to `ids`, e.g. "topic/partition/offset")
   * lets a key pending for a different record answer "in-flight" (skip safely) instead of being
   * taken over. One round trip.
   */
  async claimDetailed(ids: readonly string[], sources?: readonly string[]): Promise<ClaimOutcome[]> {
    if (this.closed) throw new SentimentWorkerError("the deduplicator is closed");
    if (sources !== undefined && sources.length !== ids.length) {
      throw new SentimentWorkerError(`claimDetailed: ${ids.length} ids but ${sources.length} sources`);
    }
    if (ids.length === 0) return [];
    await this.firstConnection;
    const keys = ids.map((id) => this.prefix + id);
    const token = randomBytes(12).toString("hex");
    let codes: number[];
    try {
      if (this.redis.status !== "ready") {
        const why = this.connectionError ? ` (${this.connectionError.message})` : "";
        throw new Error(`the Redis connection is ${this.redis.status}${why}`);
      }
      codes = await this.redis.swDedupClaim(
        keys.length,
        ...keys,
        token,
        String(this.pendingTtlSeconds),
        ...(sources ?? []),
      );
      this.setUp(true);
    } catch (err) {
      this.noteFailure(err);
      if (this.options.onRedisUnavailable === "bypass") {
        this.counters.bypassedClaims++;
        this.counters.bypassedIds += ids.length;
        return ids.map(() => "new");
      }
      throw new DedupUnavailableError(`Redis de-duplication is unavailable: ${errorMessage(err)}`, err);
    }
    this.forgetStale();
    const now = Date.now();
    return keys.map((key, i) => {
      const outcome = OUTCOMES.get(codes[i] ?? -1);
      if (outcome === undefined) throw new SentimentWorkerError(`unexpected claim reply ${String(codes[i])}`);
      if (outcome === "new" || outcome === "retaken") {
        this.held.delete(key); // re-insert at the end: the map stays in claim order for forgetStale
        this.held.set(key, { token, claimedAt: now });
      }
      if (outcome === "retaken") this.counters.retaken++;
      return outcome;
    });
  }

  /**
   * The outputs of these ids are committed: remember them for the full TTL. One round trip; ids
   * this process does not hold (skipped, bypassed) are ignored. Never rejects: a failure is
   * counted and only risks a later double tag.
   */
  async confirm(ids: readonly string[]): Promise<void> {
    const [keys, tokens] = this.take(ids);
    if (keys.length === 0) return;
    try {
      const held = await this.redis.swDedupConfirm(keys.length, ...keys, String(this.options.ttlSeconds), ...tokens);
      this.counters.lateConfirms += keys.length - held;
      this.setUp(true);
    } catch (err) {
      this.noteFailure(err);
      this.counters.failedConfirms++;
    }
  }

  /**
   * The work on these ids was abandoned (transaction aborted, partition revoked, shutdown before
   * commit): delete the claims still ours so a redelivery is tagged at once. One round trip; never
   * rejects (on failure the pending keys expire after pendingTtlSeconds, and a redelivery takes
   * them over anyway).
   */
  async release(ids: readonly string[]): Promise<void> {
    const [keys, tokens] = this.take(ids);
    if (keys.length === 0) return;
    try {
      await this.redis.swDedupRelease(keys.length, ...keys, ...tokens);
      this.setUp(true);
    } catch (err) {
      this.noteFailure(err);
      this.counters.failedReleases++;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.probeTimer);
    this.held.clear();
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /** Removes the held claims of `ids` and returns their keys and tokens (each key once). */
  private take(ids: readonly string[]): [string[], string[]] {
    const keys: string[] = [];
    const tokens: string[] = [];
    for (const id of ids) {
      const key = this.prefix + id;
      const claim = this.held.get(key);
      if (claim === undefined) continue;
      this.held.delete(key);
      keys.push(key);
      tokens.push(claim.token);
    }
    return [keys, tokens];
  }

  /** A leak guard: claims never confirmed nor released are dropped long after they expired in Redis. */
  private forgetStale(): void {
    const limit = Date.now() - 10 * this.pendingTtlSeconds * 1000;
    for (const [key, claim] of this.held) {
      if (claim.claimedAt > limit) break;
      this.held.delete(key);
    }
  }

  /** A reply error (script error, OOM, READONLY) says Redis answered; anything else means it is not reachable. */
  private noteFailure(err: unknown): void {
    if (err instanceof ReplyError) return;
    this.setUp(false);
    if (this.redis.status === "ready") this.scheduleProbe();
  }

  /** Connected but not answering (e.g. a hung server): PING until it answers. */
  private scheduleProbe(): void {
    if (this.probeTimer !== undefined || this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (this.redis.status === "ready") void this.verify(true);
    }, this.probeIntervalMs);
    this.probeTimer.unref();
  }

  private async verify(reprobe = false): Promise<void> {
    try {
      await this.redis.ping();
      this.setUp(true);
    } catch {
      if (reprobe) this.scheduleProbe();
    }
  }

  private setUp(up: boolean): void {
    if (this.up === up || this.closed) return;
    this.up = up;
    this.options.onAvailabilityChange?.(up);
  }
}

/** Redis's answers to credentials it does not take. */
const REFUSED = /^(NOAUTH|WRONGPASS|NOPERM)\b/;
