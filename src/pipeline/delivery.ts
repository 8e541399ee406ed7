/**
 * Commit: how a chunk's outputs and its offset are committed, chosen once by the Kafka job.
 * Exactly-once commits both in one transaction and owns its partitions (`PartitionOwnership`);
 * at-least-once writes the outputs, then commits the offset, and owns nothing.
 */
import type { ChunkSource, TopicPartition } from "../consumers/chunk-source.js";
import { CommitOutcomeUnknownError, OffsetCommitError } from "../errors/errors.js";
import type { PartitionOutput, PartitionSink } from "../sinks/kafka/partition-sink.js";
import type { Logger } from "../telemetry/index.js";
import { PartitionOwnership } from "./partition-ownership.js";
import type { Retag } from "./stages/claim-chunk.js";

/**
 * committed: outputs and offset; outputs-only: the outputs are durable but the offset is not (the
 * chunk is read again, its claims stand); not-committed: neither (its claims are released).
 */
export type CommitOutcome = "committed" | "outputs-only" | "not-committed";

export interface Delivery {
  readonly sink: PartitionSink;
  /** A new generation began with `assigned`; `dropped` went to other workers. */
  onAssignment(assigned: readonly TopicPartition[], dropped: readonly TopicPartition[]): void;
  /** Before a chunk starting at `firstOffset`: false when it must be dropped (the reader was moved). */
  admit(tp: TopicPartition, firstOffset: string | undefined): Promise<boolean>;
  /** Ids to tag again past de-duplication in this partition. */
  retag(tp: TopicPartition): Retag | undefined;
  /**
   * Commits the chunk's outputs and offset. Rejects with FencedError (another worker owns the
   * partition), CommitOutcomeUnknownError (whether it committed cannot be learnt now: the claims
   * stay pending), or another error (nothing was committed).
   */
  commit(output: PartitionOutput, taggedIds: readonly string[]): Promise<CommitOutcome>;
  /** Anything in the chunk failed. */
  failed(tp: TopicPartition): void;
}

export interface DeliveryParts {
  sink: PartitionSink;
  source: Pick<ChunkSource, "committedOffset" | "seek">;
  logger: Pick<Logger, "error">;
}

export function exactlyOnce({ sink, source, logger }: DeliveryParts): Delivery {
  const ownership = new PartitionOwnership({ sink, source, logger });
  return {
    sink,
    onAssignment: (assigned, dropped) => {
      for (const tp of dropped) void sink.release(tp.topic, tp.partition);
      ownership.onAssignment(assigned, dropped);
    },
    admit: (tp, firstOffset) => ownership.admit(tp, firstOffset),
    retag: (tp) => ownership.retag(tp),
    commit: async (output, taggedIds) => {
      try {
        await sink.commit(output);
      } catch (error) {
        if (!(error instanceof CommitOutcomeUnknownError)) throw error;
        if (!(await ownership.settleUnknownCommit(output, output.nextOffset, error))) return "not-committed";
      }
      ownership.committed(output, output.nextOffset, taggedIds);
      return "committed";
    },
    failed: (tp) => ownership.failed(tp),
  };
}

export function atLeastOnce({ sink }: Pick<DeliveryParts, "sink">): Delivery {
  return {
    sink,
    onAssignment: (_, dropped) => {
      for (const tp of dropped) void sink.release(tp.topic, tp.partition);
    },
    admit: async () => true,
    retag: () => undefined,
    commit: async (output) => {
      try {
        await sink.commit(output);
        return "committed";
      } catch (error) {
        // The outputs exist, so their claims stand; the records are read again and skipped as seen
        // (or, without de-duplication, written again: at least once).
        if (error instanceof OffsetCommitError) return "outputs-only";
        throw error;
      }
    },
    failed: () => {},
  };
}
