/**
 * The Kafka main job for one partition batch: decode and validate → claim the ids in Redis (one
 * round trip) → infer in the shared batcher → build events and dead letters in offset order →
 * the sink commits outputs and offset together (exactly-once) or in that order (at-least-once) →
 * confirm the claims. Anything that fails before the commit releases the claims and leaves the
 * offset where it was, so the batch is read again: finished and committed, or abandoned
 * uncommitted, never half of each.
 */
import type { KafkaMessage, Message } from "kafkajs";
import type { Config } from "../config/index.js";
import type { KafkaSource, PartitionBatch, SourceHandlers, TopicPartition } from "../consumers/kafka-source.js";
import type { RedisDeduplicator } from "../dedup/redis-dedup.js";
import { DedupUnavailableError, FencedError } from "../errors/errors.js";
import type { Classified, SentimentClassifier } from "../inference/classifier.js";
import type { PartitionSink } from "../sinks/kafka/partition-sink.js";
import { deadLetterMessage, eventMessage } from "../sinks/kafka/records.js";
import { buildEvent } from "./build-event.js";
import { type DecodedMessage, decodeRecord } from "./decode.js";
import type { RunCounters } from "./run-counters.js";

export interface KafkaPipelineParts {
  config: Config;
  classifier: SentimentClassifier;
  dedup: RedisDeduplicator | undefined;
  sink: PartitionSink;
  source: KafkaSource;
  counters: RunCounters;
  workerVersion: string;
  /** Readiness for the health endpoint: false while Redis is down in `fail` mode. */
  setReady?: (ready: boolean) => void;
}

const key = ({ topic, partition }: TopicPartition) => `${topic}:${partition}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class KafkaPipeline implements SourceHandlers {
  /** Partitions of the current generation not yet fenced and re-checked (exactly-once). */
  private unchecked = new Set<string>();
  private owned = new Map<string, TopicPartition>();

  constructor(private readonly parts: KafkaPipelineParts) {}

  onAssignment(assigned: TopicPartition[]): void {
    const next = new Map(assigned.map((tp) => [key(tp), tp]));
    for (const [k, tp] of this.owned) if (!next.has(k)) void this.parts.sink.release(tp.topic, tp.partition);
    this.owned = next;
    this.unchecked = new Set(next.keys());
  }

  async handle(batch: PartitionBatch): Promise<"processed" | "abandoned"> {
    const { config } = this.parts;
    if (config.kafka.delivery === "exactly-once" && this.unchecked.has(key(batch))) {
      if (!(await this.takeOver(batch))) return "abandoned";
    }
    const heartbeat = setInterval(() => void batch.heartbeat().catch(() => {}), config.kafka.heartbeatIntervalMs);
    try {
      return await this.process(batch);
    } catch (error) {
      // Another worker owns the partition now: what we did is void; it reads from its own commit.
      if (error instanceof FencedError) return "abandoned";
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * First batch of a newly assigned partition: fence earlier owners first (their open transaction
   * is completed or aborted), then trust the committed offset only as read after that. kafkajs
   * read it before, so a batch fetched from an older position is dropped and the reader moved.
   */
  private async takeOver(batch: PartitionBatch): Promise<boolean> {
    await this.parts.sink.acquire(batch.topic, batch.partition);
    const committed = await this.parts.source.committedOffset(batch);
    this.unchecked.delete(key(batch));
    const first = batch.messages[0]?.offset;
    if (committed !== undefined && committed !== first) {
      this.parts.source.seek(batch, committed);
      return false;
    }
    return true;
  }

  private async process(batch: PartitionBatch): Promise<"processed" | "abandoned"> {
    const { classifier, counters } = this.parts;
    const items = batch.messages.map((message) => this.decode(batch, message));
    const messages = items.flatMap((item) => (item.decoded.kind === "message" ? [item] : []));

    const tagged = await this.claim(batch, messages);
    if (tagged === undefined) return "abandoned";
    const taggedIds = tagged.map((item) => (item.decoded as DecodedMessage).id);
    try {
      const results = new Map<(typeof items)[number], Promise<Classified>>();
      for (const item of tagged) {
        if (!classifier.hasCapacity) await classifier.whenCapacity();
        const result = classifier.submit(classifier.encode((item.decoded as DecodedMessage).text));
        // Awaited in order below; a failed batch must not leave the later ones rejected unobserved.
        result.catch(() => {});
        results.set(item, result);
      }
      const events: Message[] = [];
      const deadLetters: Message[] = [];
      for (const item of items) {
        const { decoded, message, source } = item;
        if (decoded.kind === "dead") {
          deadLetters.push(
            deadLetterMessage(
              { code: decoded.code, message: decoded.message, source },
              message,
              this.parts.workerVersion,
            ),
          );
        } else if (decoded.kind === "message" && results.has(item)) {
          const result = await results.get(item);
          if (result)
            events.push(eventMessage(buildEvent(decoded, source, result, classifier.model, new Date()), message));
        }
      }
      // A rebalance or seek made the batch obsolete; a shutdown does not: finishing it saves redoing it.
      if (batch.isStale()) throw new AbandonedBatch();
      const last = batch.messages[batch.messages.length - 1] as KafkaMessage;
      await this.parts.sink.commit({
        topic: batch.topic,
        partition: batch.partition,
        events,
        deadLetters,
        nextOffset: (BigInt(last.offset) + 1n).toString(),
      });
      await this.parts.dedup?.confirm(taggedIds);
      counters.records += items.length;
      counters.events += events.length;
      counters.duplicates += messages.length - tagged.length;
      for (const item of items) {
        if (item.decoded.kind === "dead") counters.deadLetter(item.decoded.code);
        if (item.decoded.kind === "tombstone") counters.tombstones++;
      }
      return "processed";
    } catch (error) {
      await this.parts.dedup?.release(taggedIds);
      if (error instanceof AbandonedBatch) return "abandoned";
      throw error;
    }
  }

  private decode(batch: PartitionBatch, message: KafkaMessage) {
    const source = {
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      timestamp: new Date(Number(message.timestamp)).toISOString(),
    };
    const decoded = decodeRecord({ key: message.key, value: message.value, source }, this.parts.config.input);
    return { message, source, decoded };
  }

  /**
   * The messages to tag: ids not seen before (one Redis round trip). In `fail` mode an unreachable
   * Redis holds the batch (readiness false, heartbeats go on) until it answers; undefined when
   * the batch must be abandoned meanwhile (shutdown, rebalance).
   */
  private async claim<
    T extends { decoded: { kind: string }; source: { topic: string; partition: number; offset: string } },
  >(batch: PartitionBatch, messages: T[]): Promise<T[] | undefined> {
    const { dedup } = this.parts;
    if (!dedup || messages.length === 0) return messages;
    const ids = messages.map((m) => (m.decoded as DecodedMessage).id);
    const sources = messages.map((m) => `${m.source.topic}/${m.source.partition}/${m.source.offset}`);
    for (;;) {
      try {
        const outcomes = await dedup.claimDetailed(ids, sources);
        this.parts.setReady?.(true);
        return messages.filter((_, i) => outcomes[i] === "new" || outcomes[i] === "retaken");
      } catch (error) {
        if (!(error instanceof DedupUnavailableError)) throw error;
        this.parts.setReady?.(false);
        await batch.heartbeat().catch(() => {});
        if (batch.isStale() || !batch.isRunning()) return undefined;
        await sleep(500);
      }
    }
  }
}

/** The batch became obsolete (rebalance, seek) before its commit. */
class AbandonedBatch extends Error {}
