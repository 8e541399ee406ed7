/**
 * What the group source and the replay reader share: a consumer group member that feeds a batch
 * handler, a drain for stops and rebalances, the first join (or a refused one) ending start-up,
 * and the group's committed offsets. Each source says how it reads a fetched batch.
 */
import type { FetchedBatch, GroupMember, KafkaAdmin, Subscription, TopicPartition } from "../kafka/client.js";
import type { Log } from "../telemetry/logger.js";
import { type FetchChunks, fetchChunks } from "./chunk-controls.js";
import type { ChunkHandler, ChunkSource } from "./chunk-source.js";
import { Drain } from "./drain.js";

export interface MemberSourceOptions {
  groupId: string;
  /** How long chunks in flight may run once a stop or rebalance began (`kafka.drainTimeoutMs`). */
  drainTimeoutMs: number;
  /** How often the member beats while the pipeline works on a chunk (`kafka.heartbeatIntervalMs`). */
  heartbeatIntervalMs: number;
  /** Chunks of one partition worked on at once (`kafka.chunksInFlight`, 1 or 2; default 1). */
  chunksInFlight?: number | undefined;
  log?: Log | undefined;
}

export abstract class MemberSource implements ChunkSource {
  protected readonly drain: Drain;
  protected stopping = false;
  private joined = false;
  private crashed: ((error: Error) => void) | undefined;
  /** Rejects when the member failed for good (the client gave up restarting it). */
  readonly failed = new Promise<never>((_, reject) => {
    this.crashed = reject;
  });

  constructor(
    protected readonly member: GroupMember,
    private readonly admin: Pick<KafkaAdmin, "committedOffsets">,
    private readonly base: MemberSourceOptions,
  ) {
    this.drain = new Drain(base.drainTimeoutMs);
    // Observed by whoever awaits it; never an unhandled rejection.
    this.failed.catch(() => {});
  }

  /** What to subscribe to. */
  protected abstract subscription(): Subscription;
  /** Reads one fetched batch into the handler. */
  protected abstract read(batch: FetchedBatch, handler: ChunkHandler): Promise<void>;
  /** A fetched batch's controls, chunk by chunk. */
  protected controlsOf(batch: FetchedBatch): FetchChunks {
    return fetchChunks(batch, this.drain, this.base.heartbeatIntervalMs, this.base.chunksInFlight);
  }
  /** After a join, once the handler knows the assignment. */
  protected afterJoin(_assigned: TopicPartition[]): void {}
  /** The client moved past a fetch of only transaction markers or aborted records. */
  protected skipped(_tp: TopicPartition, _lastOffset: string): void {}
  /** The error to fail with when the member crashed for good. */
  protected explain(error: Error): Error {
    return error;
  }

  /** The source cannot go on: `failed` rejects (and so does a `start` still waiting for its join). */
  protected fail(error: Error): void {
    this.crashed?.(error);
  }

  /**
   * Joins the group and starts reading; resolves once the first assignment arrived, rejects when
   * the member fails first (a refused join: a setting the broker rejects, a missing ACL).
   */
  async start(handler: ChunkHandler): Promise<void> {
    let firstJoin: () => void = () => {};
    const joined = new Promise<void>((resolve) => {
      firstJoin = resolve;
    });
    let lastCrash = "";
    await this.member.run(this.subscription(), {
      joined: (assigned) => {
        this.drain.joined();
        handler.onAssignment(assigned);
        this.joined = true;
        lastCrash = "";
        this.afterJoin(assigned);
        firstJoin();
      },
      rebalancing: () => {
        this.joined = false;
        this.drain.begin("rebalance");
      },
      stopped: () => {
        this.joined = false;
      },
      crashed: (error, restarting) => {
        this.joined = false;
        // A failure while stopping needs no answer: no restart is wanted.
        if (!restarting) {
          if (!this.stopping) this.fail(this.explain(error));
          return;
        }
        // Said once per distinct reason, so a broker that stays away does not flood the logs.
        if (error.message !== lastCrash) {
          this.base.log?.("the Kafka consumer failed and restarts", {
            groupId: this.base.groupId,
            reason: error.message,
          });
        }
        lastCrash = error.message;
      },
      skipped: (tp, lastOffset) => this.skipped(tp, lastOffset),
      batch: (batch) => this.read(batch, handler),
    });
    await Promise.race([joined, this.failed]);
  }

  /** In the group with an assignment (for readiness). */
  get inGroup(): boolean {
    return this.joined;
  }

  async committedOffset({ topic, partition }: TopicPartition): Promise<string | undefined> {
    const offsets = await this.admin.committedOffsets(this.base.groupId, topic);
    const offset = offsets.find((p) => p.partition === partition)?.offset;
    return offset === undefined || offset === "-1" ? undefined : offset;
  }

  seek(tp: TopicPartition, offset: string): void {
    this.member.seek(tp, offset);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.drain.begin("stop");
    await this.member.disconnect();
  }
}
