/**
 * The controls a Kafka source hands the pipeline with each batch, made from kafkajs's `eachBatch`
 * payload: heartbeats that notice a rebalance, the drain signal, and an offset commit that works
 * while the consumer stops. Shared by the group source and the replay reader.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { EachBatchPayload, PartitionOffset } from "kafkajs";
import { meansRejoin } from "../kafka/errors.js";
import type { Drain } from "./drain.js";
import type { PartitionBatch } from "./partition-source.js";

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
export function sourceBatch(payload: EachBatchPayload, drain: Drain): SourceBatch {
  const generation = drain.current;
  const controls = batchControls(payload, drain);
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

function batchControls(payload: EachBatchPayload, drain: Drain): BatchControls {
  const { batch, heartbeat, isStale, isRunning, commitOffsetsIfNecessary } = payload;
  return {
    heartbeat: async () => {
      try {
        await heartbeat();
      } catch (error) {
        // The generation is over: hand out no more chunks, so kafkajs can rejoin in time.
        if (meansRejoin(error)) drain.begin("rebalance");
        throw error;
      }
    },
    isStale,
    isRunning,
    signal: drain.signal,
    // kafkajs's `consumer.commitOffsets` returns without committing once the consumer is stopping
    // (at-least-once then repeated every batch finished after SIGTERM); the payload's own commit
    // goes straight to the group coordinator with the current generation.
    commitOffset: async (nextOffset, metadata) => {
      // kafkajs sends a partition's `metadata` although its types omit it.
      const partition: PartitionOffset & { metadata?: string } = {
        partition: batch.partition,
        offset: nextOffset,
        ...(metadata !== undefined ? { metadata } : {}),
      };
      for (let attempt = 1; ; attempt++) {
        try {
          await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [partition] }] });
          return;
        } catch (error) {
          if (meansRejoin(error)) drain.begin("rebalance");
          const retriable = (error as { retriable?: unknown }).retriable === true;
          if (!retriable || attempt >= COMMIT_ATTEMPTS) throw error;
          await sleep(100 * 2 ** attempt);
        }
      }
    },
  };
}
