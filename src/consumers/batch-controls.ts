/**
 * The controls a Kafka source hands the pipeline with each fetched batch: heartbeats that notice a
 * rebalance, the drain signal, and an offset commit that is retried while the coordinator moves.
 * Shared by the group source and the replay reader.
 */
import { retry } from "../errors/retry.js";
import type { FetchedBatch } from "../kafka/client.js";
import { meansRejoin } from "../kafka/errors.js";
import type { PartitionBatch } from "./batch-source.js";
import type { Drain } from "./drain.js";

export type BatchControls = Pick<PartitionBatch, "heartbeat" | "isStale" | "isRunning" | "signal" | "commitOffset">;

/** One fetched batch as a source hands it out, a chunk at a time. */
export interface SourceBatch {
  /** What the pipeline gets with each chunk. */
  controls: BatchControls;
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
export function sourceBatch(batch: FetchedBatch, drain: Drain): SourceBatch {
  const generation = drain.current;
  const controls = batchControls(batch, drain);
  const ended = () => !drain.mayContinue(generation) || !controls.isRunning() || controls.isStale();
  return {
    controls,
    ended,
    beforeChunk: async (index) => {
      if (index > 0) await controls.heartbeat().catch(() => {});
      return !ended();
    },
  };
}

function batchControls(batch: FetchedBatch, drain: Drain): BatchControls {
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
