/**
 * The consumer group as a source. The client delivers one partition's batch at a time; several
 * partitions run concurrently so their messages meet in the one batcher. Offsets are never
 * committed here on the source's own initiative: the pipeline commits them through the sink (in
 * the output transaction) or through `commitOffset` after the outputs were acknowledged.
 */
import { ConfigError, GroupJoinError } from "../errors/errors.js";
import type { FetchedBatch, GroupMember, KafkaAdmin, Subscription } from "../kafka/client.js";
import { kafkaErrorType } from "../kafka/errors.js";
import type { ChunkHandler } from "./chunk-source.js";
import { MemberSource, type MemberSourceOptions } from "./member-source.js";

export interface GroupSourceOptions extends MemberSourceOptions {
  topics: readonly string[];
  pattern?: string | undefined;
  /** Partitions processed at once; their messages share the batcher. */
  concurrency: number;
  /**
   * Most records handed to the pipeline at once, asked before each chunk. A fetch of a backlog
   * holds thousands of posts; bounded chunks keep each transaction (and each Redis claim) short,
   * let one commit while the next is inferred, and let a stop or rebalance end the batch after the
   * chunk in flight.
   */
  chunkRecords: () => number;
  fromBeginning: boolean;
  /** The settings a refused join is explained with. */
  sessionTimeoutMs: number;
}

export class GroupSource extends MemberSource {
  constructor(
    member: GroupMember,
    admin: Pick<KafkaAdmin, "committedOffsets">,
    private readonly options: GroupSourceOptions,
  ) {
    super(member, admin, options);
  }

  protected override subscription(): Subscription {
    const { topics, pattern, fromBeginning, concurrency } = this.options;
    return { topics, pattern, fromBeginning, concurrency };
  }

  protected override explain(error: Error): Error {
    return explainJoinError(error, this.options);
  }

  protected override async read(batch: FetchedBatch, handler: ChunkHandler): Promise<void> {
    const { records } = batch;
    let i = 0;
    await this.controlsOf(batch).handOut(handler, async () => {
      if (i >= records.length) return undefined;
      const chunk = records.slice(i, i + this.options.chunkRecords());
      i += chunk.length;
      const last = (chunk[chunk.length - 1] as (typeof chunk)[number]).offset;
      return {
        chunk: {
          topic: batch.topic,
          partition: batch.partition,
          messages: chunk,
          highWatermark: batch.highWatermark,
          nextOffset: (BigInt(last) + 1n).toString(),
        },
        // Moves the read position only (what is committed is the sink's business): should a later
        // chunk be abandoned, the next fetch starts after this one, not at the batch's start.
        committed: () => batch.resolveOffset(last),
      };
    });
  }
}

/** A member crash that the client will not restart, said in terms of our settings where the cause is one. */
export function explainJoinError(
  error: Error,
  options: Pick<GroupSourceOptions, "groupId" | "topics" | "pattern" | "sessionTimeoutMs">,
): Error {
  const reason = error.message;
  switch (kafkaErrorType(error)) {
    case "INVALID_SESSION_TIMEOUT":
      return new ConfigError([
        {
          path: "kafka.sessionTimeoutMs",
          reason: `the broker refused ${options.sessionTimeoutMs} ms: it must lie within the broker's group.min.session.timeout.ms and group.max.session.timeout.ms (${reason})`,
        },
      ]);
    case "GROUP_AUTHORIZATION_FAILED":
      return new ConfigError([
        {
          path: "kafka.groupId",
          reason: `not authorised to join group ${options.groupId}: grant this principal Read on the group (${reason})`,
        },
      ]);
    case "TOPIC_AUTHORIZATION_FAILED":
      return new ConfigError([
        {
          path: options.pattern && options.topics.length === 0 ? "kafka.inputPattern" : "kafka.inputTopics",
          reason: `not authorised to read the input topics: grant this principal Read and Describe on them (${reason})`,
        },
      ]);
    default:
      return new GroupJoinError(`the Kafka consumer of group ${options.groupId} stopped: ${reason}`, {
        cause: error,
      });
  }
}
