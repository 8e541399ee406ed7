/**
 * The controls a Kafka source hands the pipeline with each chunk of a fetched batch: the drain
 * signal and an offset commit that is retried while the coordinator moves; and the heartbeats,
 * which the source alone sends (between chunks, and on a timer while the pipeline works on one),
 * noticing a rebalance. Shared by the group source and the replay reader.
 */
import { retry } from "../errors/retry.js";
import type { FetchedBatch } from "../kafka/client.js";
import { meansRejoin } from "../kafka/errors.js";
import type { ChunkHandler, PartitionChunk } from "./chunk-source.js";
import type { Drain } from "./drain.js";

export type ChunkControls = Pick<PartitionChunk, "isStale" | "isRunning" | "signal" | "commitOffset">;
type Outcome = Awaited<ReturnType<ChunkHandler["handle"]>>;

/** One fetched batch as a source hands it out, a chunk at a time. */
export interface FetchChunks {
  /** What the pipeline gets with each chunk. */
  controls: ChunkControls;
  /** A heartbeat now, noticing a rebalance (for the source's own waits: a replay's rate limit). */
  heartbeat(): Promise<void>;
  /**
   * Hands a chunk to the pipeline, with a heartbeat every `heartbeatIntervalMs` while it works on
   * it (the client has no background heartbeat); its error needs no answer here.
   */
  handle(handler: ChunkHandler, chunk: PartitionChunk): Promise<Outcome>;
  /**
   * The batch hands out no more chunks: a stop or rebalance began, a newer generation joined, the
   * consumer stopped, or a seek made the batch stale.
   */
  ended(): boolean;
  /** Before chunk `index`: a heartbeat between chunks (which notices a rebalance), then `!ended()`. */
  beforeChunk(index: number): Promise<boolean>;
}

/** Attempts of an offset commit that failed with a retriable error (a coordinator moving). */
const COMMIT_ATTEMPTS = 4;

/**
 * A batch's controls, and the rule that ends it after the chunk in flight: a stop or a rebalance
 * must not wait for the whole fetch.
 */
export function fetchChunks(batch: FetchedBatch, drain: Drain, heartbeatIntervalMs: number): FetchChunks {
  const generation = drain.current;
  const { heartbeat, ...controls } = batchControls(batch, drain);
  const ended = () => !drain.mayContinue(generation) || !controls.isRunning() || controls.isStale();
  return {
    controls,
    heartbeat,
    ended,
    beforeChunk: async (index) => {
      if (index > 0) await heartbeat().catch(() => {});
      return !ended();
    },
    handle: async (handler, chunk) => {
      const timer = setInterval(() => void heartbeat().catch(() => {}), heartbeatIntervalMs);
      try {
        return await handler.handle(chunk);
      } finally {
        clearInterval(timer);
      }
    },
  };
}

function batchControls(batch: FetchedBatch, drain: Drain): ChunkControls & { heartbeat(): Promise<void> } {
  /** The call, noticing when its error says the generation is over: hand out no more chunks, so the member can rejoin in time. */
  const noticingRejoin = async (call: () => Promise<void>) => {
    try {
      await call();
    } catch (error) {
      if (meansRejoin(error)) drain.begin("rebalance");
      throw error;
    }
  };
  return {
    heartbeat: () => noticingRejoin(() => batch.heartbeat()),
    isStale: batch.isStale,
    isRunning: batch.isRunning,
    signal: drain.signal,
    commitOffset: (nextOffset, metadata) =>
      retry(() => noticingRejoin(() => batch.commitOffset(nextOffset, metadata)), {
        attempts: COMMIT_ATTEMPTS,
        backoff: { initialMs: 200, maxMs: 2000 },
        retryIf: (error) => (error as { retriable?: unknown }).retriable === true,
      }),
  };
}
