/**
 * Partition ownership under exactly-once: fencing earlier owners before a partition's committed
 * offset is trusted, remembering each partition's last acknowledged commit, and sweeping what a
 * broker left open (docs/reliability.md, "A broker that completes a commit without its markers").
 * Built only for exactly-once (see `delivery.ts`); at-least-once has none of it.
 */
import type { ChunkSource, TopicPartition } from "../consumers/chunk-source.js";
import type { PartitionSink } from "../sinks/kafka/partition-sink.js";
import type { Logger } from "../telemetry/index.js";
import type { Retag } from "./stages/claim-chunk.js";

/** A partition's last commit this worker saw acknowledged: its next offset and the ids it tagged. */
interface OwnCommit {
  next: bigint;
  ids: readonly string[];
}

export interface OwnershipParts {
  sink: Pick<PartitionSink, "acquire" | "sweep">;
  /** The truth about committed offsets, and the read position moved when it differs from a chunk's. */
  source: Pick<ChunkSource, "committedOffset" | "seek">;
  logger: Pick<Logger, "error">;
}

const key = ({ topic, partition }: TopicPartition) => `${topic}:${partition}`;

export class PartitionOwnership {
  /** Partitions of the current generation not yet fenced and re-checked. */
  private unchecked = new Set<string>();
  /** Per owned partition, its last acknowledged commit. */
  private readonly ownCommits = new Map<string, OwnCommit>();
  /**
   * Per partition, the acknowledged commit whose completion the broker lost and a sweep aborted:
   * its ids are tagged again, past de-duplication, when read again (their outputs are gone).
   */
  private readonly redo = new Map<string, { next: bigint; ids: Set<string> }>();
  /** Partitions whose transaction failed or got no answer here: swept at their next fencing. */
  private readonly unsure = new Set<string>();

  constructor(private readonly parts: OwnershipParts) {}

  /** A new generation: every assigned partition is fenced before its next chunk; what went elsewhere is forgotten. */
  onAssignment(assigned: readonly TopicPartition[], dropped: readonly TopicPartition[]): void {
    for (const tp of dropped) {
      this.ownCommits.delete(key(tp));
      this.redo.delete(key(tp));
      this.unsure.delete(key(tp));
    }
    this.unchecked = new Set(assigned.map(key));
  }

  /**
   * Before a chunk: the first of a partition in this generation (or after a failure) fences earlier
   * owners first (their open transaction is completed or aborted), then trusts the committed offset
   * only as read after that. The consumer read it before, so a chunk fetched from another position
   * is dropped (false) and the reader moved.
   */
  async admit(tp: TopicPartition, firstOffset: string | undefined): Promise<boolean> {
    if (!this.unchecked.has(key(tp))) return true;
    const committed = await this.fenceAndReadOffset(tp);
    if (committed !== undefined && committed !== firstOffset) {
      this.parts.source.seek(tp, committed);
      return false;
    }
    return true;
  }

  /**
   * Whatever failed, the partition is fenced again (and swept) and its committed offset re-read
   * before the next chunk: a producer that failed half-way is gone, and the offset says what was
   * committed.
   */
  failed(tp: TopicPartition): void {
    this.unchecked.add(key(tp));
    this.unsure.add(key(tp));
  }

  /** The ids to tag again in this partition, past de-duplication (a lost completion was swept). */
  retag(tp: TopicPartition): Retag | undefined {
    return this.redo.get(key(tp));
  }

  /** After an acknowledged commit: what a lost completion would be checked against. */
  committed(tp: TopicPartition, nextOffset: string, ids: readonly string[]): void {
    const next = BigInt(nextOffset);
    this.ownCommits.set(key(tp), { next, ids });
    const redo = this.redo.get(key(tp));
    if (redo && next >= redo.next) this.redo.delete(key(tp));
    // Tagged again and committed: a later copy of the id is a duplicate again.
    else if (redo) for (const id of ids) redo.ids.delete(id);
  }

  /**
   * A transaction's commit got no answer (coordinator moved, connection dropped). Fencing the
   * transactional id again completes or aborts it, and the committed offset then says which: true
   * when it committed; false when not (the reader is moved to the committed offset). When even that
   * cannot be learnt, `error` goes up (the chunk's claims stay pending: they expire).
   */
  async settleUnknownCommit(tp: TopicPartition, nextOffset: string, error: Error): Promise<boolean> {
    let committed: string | undefined;
    this.unsure.add(key(tp));
    try {
      committed = await this.fenceAndReadOffset(tp);
    } catch {
      throw error;
    }
    if (committed !== undefined && BigInt(committed) >= BigInt(nextOffset)) return true;
    if (committed !== undefined) this.parts.source.seek(tp, committed);
    return false;
  }

  private async fenceAndReadOffset(tp: TopicPartition): Promise<string | undefined> {
    const k = key(tp);
    await this.parts.sink.acquire(tp.topic, tp.partition);
    const committed = await this.parts.source.committedOffset(tp);
    const own = this.ownCommits.get(k);
    const lost = own !== undefined && (committed === undefined || BigInt(committed) < own.next);
    if (lost) {
      // The broker acknowledged a commit up to own.next, yet its offset is behind: it completed
      // the transaction without writing its markers (ExactlyOnceSink.sweep), so that transaction's
      // records are still open. They are aborted below, then read and tagged again.
      this.parts.logger.error(
        {
          topic: tp.topic,
          partition: tp.partition,
          committedOffset: committed ?? null,
          acknowledgedOffset: own.next.toString(),
        },
        "the broker lost the completion of an acknowledged transaction: aborting its open records and reading them again",
      );
    }
    // After a failed or unanswered transaction too: its abort by the fencing above (or its commit,
    // when the answer was lost) can likewise have been completed without markers.
    if (lost || this.unsure.has(k)) {
      await this.parts.sink.sweep(tp.topic, tp.partition, committed ?? "0");
      this.unsure.delete(k);
    }
    if (lost) {
      this.ownCommits.delete(k);
      this.redo.set(k, { next: own.next, ids: new Set(own.ids) });
    }
    this.unchecked.delete(k);
    return committed;
  }
}
