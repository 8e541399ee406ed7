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
import type { PartitionBatch, PartitionSource, SourceHandlers, TopicPartition } from "../consumers/kafka-source.js";
import type { RedisDeduplicator } from "../dedup/redis-dedup.js";
import { type CachedResult, textHash } from "../dedup/result-cache.js";
import { DedupUnavailableError, FencedError } from "../errors/errors.js";
import type { Classified, SentimentClassifier } from "../inference/classifier.js";
import type { PartitionSink } from "../sinks/kafka/partition-sink.js";
import { deadLetterMessage, eventMessage } from "../sinks/kafka/records.js";
import { ATTRIBUTES, type BatchTrace, SPANS, type Telemetry } from "../telemetry/index.js";
import { buildEvent } from "./build-event.js";
import { type DecodedMessage, decodeRecord } from "./decode.js";
import type { RunCounters } from "./run-counters.js";

export interface KafkaPipelineParts {
  config: Config;
  classifier: SentimentClassifier;
  dedup: RedisDeduplicator | undefined;
  sink: PartitionSink;
  source: PartitionSource;
  counters: RunCounters;
  workerVersion: string;
  telemetry: Telemetry;
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
    for (const [k, tp] of this.owned) {
      if (next.has(k)) continue;
      void this.parts.sink.release(tp.topic, tp.partition);
      this.parts.telemetry.metrics.forgetLag(tp.topic, tp.partition);
    }
    this.owned = next;
    this.unchecked = new Set(next.keys());
  }

  async handle(batch: PartitionBatch): Promise<"processed" | "abandoned"> {
    const { config, telemetry } = this.parts;
    if (config.kafka.delivery === "exactly-once" && this.unchecked.has(key(batch))) {
      if (!(await this.takeOver(batch))) return "abandoned";
    }
    const heartbeat = setInterval(() => void batch.heartbeat().catch(() => {}), config.kafka.heartbeatIntervalMs);
    const trace = telemetry.tracing.batch(batch.topic, batch.partition, batch.messages);
    try {
      const outcome = await this.process(batch, trace);
      trace.end(outcome);
      return outcome;
    } catch (error) {
      // Another worker owns the partition now: what we did is void; it reads from its own commit.
      if (error instanceof FencedError) {
        trace.end("fenced");
        return "abandoned";
      }
      trace.end("failed", error);
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

  private async process(batch: PartitionBatch, trace: BatchTrace): Promise<"processed" | "abandoned"> {
    const { counters, telemetry } = this.parts;
    const items = await trace.stage(SPANS.consume, () => batch.messages.map((message) => this.decode(batch, message)));
    const messages = items.flatMap((item) => (item.decoded.kind === "message" ? [item] : []));

    const tagged = await trace.stage(SPANS.dedup, () => this.claim(batch, messages));
    if (tagged === undefined) return "abandoned";
    const taggedIds = tagged.map((item) => (item.decoded as DecodedMessage).id);
    try {
      const { results, cacheHits, cacheWrites } = await trace.stage(SPANS.infer, () => this.infer(tagged));
      const events: Message[] = [];
      const deadLetters: Message[] = [];
      const timestamps: number[] = [];
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
          const result = results.get(item) as Classified;
          events.push(
            eventMessage(buildEvent(decoded, source, result, this.parts.classifier.model, new Date()), message),
          );
          timestamps.push(Number(message.timestamp));
        }
      }
      // A rebalance or seek made the batch obsolete; a shutdown does not: finishing it saves redoing it.
      if (batch.isStale()) throw new AbandonedBatch();
      const last = batch.messages[batch.messages.length - 1] as KafkaMessage;
      await trace.stage(SPANS.produce, () =>
        this.parts.sink.commit({
          topic: batch.topic,
          partition: batch.partition,
          events,
          deadLetters,
          nextOffset: batch.nextOffset ?? (BigInt(last.offset) + 1n).toString(),
          ...(batch.commitMetadata !== undefined ? { metadata: batch.commitMetadata } : {}),
        }),
      );
      const committedAt = Date.now();
      await Promise.all([this.parts.dedup?.confirm(taggedIds), this.parts.dedup?.results?.putCached(cacheWrites)]);
      for (const timestamp of timestamps) telemetry.metrics.recordLatency(committedAt - timestamp);
      telemetry.metrics.setLag(batch.topic, batch.partition, lagAfter(batch.highWatermark, last.offset));
      counters.records += items.length;
      counters.events += events.length;
      counters.duplicates += messages.length - tagged.length;
      counters.cacheHits += cacheHits;
      for (const item of items) {
        if (item.decoded.kind === "dead") counters.deadLetter(item.decoded.code);
        if (item.decoded.kind === "tombstone") counters.tombstones++;
      }
      trace.span.setAttributes({
        [ATTRIBUTES.events]: events.length,
        [ATTRIBUTES.deadLetters]: deadLetters.length,
        [ATTRIBUTES.duplicates]: messages.length - tagged.length,
      });
      return "processed";
    } catch (error) {
      await this.parts.dedup?.release(taggedIds);
      if (error instanceof AbandonedBatch) return "abandoned";
      throw error;
    }
  }

  /**
   * Results for the messages to tag: from the result cache where an identical normalised text was
   * tagged before (one MGET), from the shared batcher otherwise. Waiting for batcher capacity
   * holds this partition's `eachBatch`, which is what stops kafkajs fetching: backpressure.
   */
  private async infer<T extends { decoded: { kind: string } }>(
    tagged: T[],
  ): Promise<{ results: Map<T, Classified>; cacheHits: number; cacheWrites: CachedResult<Classified>[] }> {
    const { classifier } = this.parts;
    const cache = this.parts.dedup?.results;
    const texts = tagged.map((item) => (item.decoded as DecodedMessage).text);
    const hashes = cache ? texts.map(textHash) : [];
    const cached = cache ? await cache.getCached(hashes) : [];
    const pending = new Map<T, Promise<Classified>>();
    const results = new Map<T, Classified>();
    let cacheHits = 0;
    for (const [i, item] of tagged.entries()) {
      const hit = cached[i];
      if (hit !== undefined && isClassified(hit, classifier.model.labels)) {
        results.set(item, hit);
        cacheHits++;
        continue;
      }
      // `while`: every waiting partition wakes at once, and the first to run may fill the queue again.
      while (!classifier.hasCapacity) await classifier.whenCapacity();
      const result = classifier.submit(classifier.encode(texts[i] as string));
      // Awaited in order below; a failed batch must not leave the later ones rejected unobserved.
      result.catch(() => {});
      pending.set(item, result);
    }
    const cacheWrites: CachedResult<Classified>[] = [];
    for (const [i, item] of tagged.entries()) {
      const result = pending.get(item);
      if (!result) continue;
      const classified = await result;
      results.set(item, classified);
      if (cache) cacheWrites.push({ textHash: hashes[i] as string, result: classified });
    }
    return { results, cacheHits, cacheWrites };
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

/** Records still to read after `lastOffset`, as the fetch's high watermark saw it. */
function lagAfter(highWatermark: string, lastOffset: string): number {
  return Math.max(0, Number(BigInt(highWatermark) - BigInt(lastOffset) - 1n));
}

/** A cached entry is trusted only if it has this model's shape (a cache is not a source of truth). */
function isClassified(value: unknown, labels: readonly string[]): value is Classified {
  const v = value as Partial<Classified> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.label === "string" &&
    labels.includes(v.label) &&
    typeof v.score === "number" &&
    typeof v.scores === "object" &&
    typeof v.truncated === "boolean"
  );
}
