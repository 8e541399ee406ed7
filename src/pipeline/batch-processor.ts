/**
 * What a Kafka job does with one partition batch: decode and validate → claim the ids in Redis (one
 * round trip) → infer in the shared batcher → build events and dead letters in offset order →
 * the sink commits outputs and offset together (exactly-once) or in that order (at-least-once) →
 * confirm the claims. Anything that fails before the commit releases the claims and leaves the
 * offset where it was, so the batch is read again: finished and committed, or abandoned
 * uncommitted, never half of each.
 */
import type { Config } from "../config/index.js";
import type {
  BatchHandler,
  BatchSource,
  ConsumedRecord,
  PartitionBatch,
  TopicPartition,
} from "../consumers/batch-source.js";
import type { RedisDeduplicator } from "../dedup/redis-dedup.js";
import { type CachedResult, textHash } from "../dedup/result-cache.js";
import { CommitOutcomeUnknownError, DedupUnavailableError, FencedError, OffsetCommitError } from "../errors/errors.js";
import { pause } from "../errors/retry.js";
import type { DeadLetterCode } from "../events/dead-letter.js";
import { recordTimestamp } from "../events/record-timestamp.js";
import type { SentimentEvent } from "../events/sentiment-event.js";
import type { Classified, SentimentClassifier } from "../inference/classifier.js";
import type { Lease } from "../inference/model-slot.js";
import type { EncodedText } from "../inference/tokenizer.js";
import { sharedLanguageIdentifier } from "../language/event-language.js";
import type { Identified } from "../language/identify.js";
import type { PartitionSink, ProducedRecord } from "../sinks/kafka/partition-sink.js";
import { deadLetterMessage, eventMessage } from "../sinks/kafka/records.js";
import { messageBytes } from "../sinks/kafka/request-chunks.js";
import { ATTRIBUTES, type BatchTrace, SPANS, type Telemetry } from "../telemetry/index.js";
import { buildEvent } from "./build-event.js";
import type { ChunkSizer } from "./chunk-sizer.js";
import { type DecodedMessage, decodeRecord } from "./decode.js";
import { type EventKind, eventKind, type RunCounters } from "./run-counters.js";

/** The largest record each output topic takes (its `max.message.bytes`, less a record batch's overhead). */
export interface OutputLimits {
  eventBytes: number;
  deadLetterBytes: number;
}

export interface BatchProcessorParts {
  config: Config;
  classifier: SentimentClassifier;
  dedup: RedisDeduplicator | undefined;
  sink: PartitionSink;
  source: Pick<BatchSource, "committedOffset" | "seek">;
  counters: RunCounters;
  workerVersion: string;
  telemetry: Telemetry;
  /** Default: unbounded (tests); the Kafka job reads them from the topics' configuration. */
  limits?: OutputLimits;
  /** Readiness for the health endpoint: false while Redis is down in `fail` mode. */
  setReady?: (ready: boolean) => void;
  /** Identifies a chunk's languages elsewhere (the language thread) while it is inferred; default: here, per event. */
  identifyAll?: (texts: readonly string[]) => Promise<Identified[]>;
  /** Told how long each committed chunk took, so the next chunks take the target time. */
  chunks?: Pick<ChunkSizer, "record">;
  /**
   * The model and de-duplication of a batch, leased at its start and released at its end, so a model
   * switch lets in-flight batches finish on the old model; default `classifier` and `dedup`.
   */
  tagging?: () => Lease<Tagging>;
  /**
   * Where a chunk's tagged messages go once its outputs are committed (shadow mode), asked at the
   * chunk's start: undefined (no shadow running) collects nothing. It must neither throw nor wait.
   */
  onCommitted?: () => ((tagged: readonly CommittedTag[]) => void) | undefined;
}

/** What a batch tags with: one model and the de-duplication keyed by its revision. */
export interface Tagging {
  classifier: SentimentClassifier;
  dedup: RedisDeduplicator | undefined;
}

/** A message tagged and committed, with its text (what a shadow model is compared on). */
export interface CommittedTag {
  text: string;
  event: SentimentEvent;
}

const key = ({ topic, partition }: TopicPartition) => `${topic}:${partition}`;

/** What one chunk made, for the accounting after its commit. */
interface Made {
  items: ReturnType<BatchProcessor["decode"]>[];
  taggedIds: string[];
  duplicates: number;
  events: EventKind[];
  deadLetters: DeadLetterCode[];
  cacheHits: number;
  cacheWrites: CachedResult<Classified>[];
  timestamps: number[];
  /** The batch's de-duplication (its model's revision) and, while a shadow runs, its tagged messages and where they go. */
  dedup: RedisDeduplicator | undefined;
  tags: CommittedTag[];
  offer: ((tagged: readonly CommittedTag[]) => void) | undefined;
}

/** A partition's last commit this worker saw acknowledged (exactly-once): its next offset and the ids it tagged. */
interface OwnCommit {
  next: bigint;
  ids: readonly string[];
}

export class BatchProcessor implements BatchHandler {
  /** Partitions of the current generation not yet fenced and re-checked (exactly-once). */
  private unchecked = new Set<string>();
  private owned = new Map<string, TopicPartition>();
  /** Per owned partition, its last acknowledged commit (exactly-once). */
  private ownCommits = new Map<string, OwnCommit>();
  /**
   * Per partition, the acknowledged commit whose completion the broker lost and a sweep aborted:
   * its ids are tagged again, past de-duplication, when read again (their outputs are gone).
   */
  private redo = new Map<string, { next: bigint; ids: Set<string> }>();
  /** Partitions whose transaction failed or got no answer here: swept at their next fencing. */
  private unsure = new Set<string>();

  constructor(private readonly parts: BatchProcessorParts) {}

  onAssignment(assigned: TopicPartition[]): void {
    const next = new Map(assigned.map((tp) => [key(tp), tp]));
    for (const [k, tp] of this.owned) {
      if (next.has(k)) continue;
      void this.parts.sink.release(tp.topic, tp.partition);
      this.parts.telemetry.metrics.forgetLag(tp.topic, tp.partition);
      this.ownCommits.delete(k);
      this.redo.delete(k);
      this.unsure.delete(k);
    }
    this.owned = next;
    this.unchecked = new Set(next.keys());
  }

  async handle(batch: PartitionBatch): Promise<"processed" | "abandoned"> {
    const { config, telemetry } = this.parts;
    const exactlyOnce = config.kafka.delivery === "exactly-once";
    if (exactlyOnce && this.unchecked.has(key(batch))) {
      if (!(await this.takeOver(batch))) return "abandoned";
    }
    // The source's heartbeat notices a rebalance (and starts the drain); its error needs no answer here.
    const heartbeat = setInterval(() => void batch.heartbeat().catch(() => {}), config.kafka.heartbeatIntervalMs);
    const trace = telemetry.tracing.batch(batch.topic, batch.partition, batch.messages);
    const started = performance.now();
    const lease = this.parts.tagging?.();
    try {
      const outcome = await this.process(batch, trace, lease?.value ?? this.parts);
      if (outcome === "processed") this.parts.chunks?.record(batch.messages.length, performance.now() - started);
      trace.end(outcome);
      return outcome;
    } catch (error) {
      // Whatever failed, the partition is fenced again (and swept) and its committed offset re-read
      // before the next batch: a producer that failed half-way is gone, and the offset says what
      // was committed.
      if (exactlyOnce) {
        this.unchecked.add(key(batch));
        this.unsure.add(key(batch));
      }
      // Another worker owns the partition now: what we did is void; it reads from its own commit.
      if (error instanceof FencedError) {
        trace.end("fenced");
        return "abandoned";
      }
      trace.end("failed", error);
      throw error;
    } finally {
      clearInterval(heartbeat);
      lease?.release();
    }
  }

  /**
   * First batch of a partition in this generation (or after a failed commit): fence earlier owners
   * first (their open transaction is completed or aborted), then trust the committed offset only as
   * read after that. The consumer read it before, so a batch fetched from another position is dropped
   * and the reader moved.
   */
  private async takeOver(batch: PartitionBatch): Promise<boolean> {
    const committed = await this.fenceAndReadOffset(batch);
    const first = batch.messages[0]?.offset;
    if (committed !== undefined && committed !== first) {
      this.parts.source.seek(batch, committed);
      return false;
    }
    return true;
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
      this.parts.telemetry.logger.error(
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

  /** After an acknowledged commit (exactly-once): what a lost completion would be checked against. */
  private ownCommit(tp: TopicPartition, nextOffset: string, ids: readonly string[]): void {
    if (this.parts.config.kafka.delivery !== "exactly-once") return;
    const next = BigInt(nextOffset);
    this.ownCommits.set(key(tp), { next, ids });
    const redo = this.redo.get(key(tp));
    if (redo && next >= redo.next) this.redo.delete(key(tp));
    // Tagged again and committed: a later copy of the id is a duplicate again.
    else if (redo) for (const id of ids) redo.ids.delete(id);
  }

  private async process(batch: PartitionBatch, trace: BatchTrace, use: Tagging): Promise<"processed" | "abandoned"> {
    const { limits } = this.parts;
    const items = await trace.stage(SPANS.consume, () => batch.messages.map((message) => this.decode(batch, message)));
    const messages = items.flatMap((item) => (item.decoded.kind === "message" ? [item] : []));

    const tagged = await trace.stage(SPANS.dedup, () => this.claim(batch, messages, use.dedup));
    if (tagged === undefined) return "abandoned";
    const taggedIds = tagged.map((item) => (item.decoded as DecodedMessage).id);
    const last = batch.messages[batch.messages.length - 1] as ConsumedRecord;
    const nextOffset = batch.nextOffset ?? (BigInt(last.offset) + 1n).toString();
    let made: Made | undefined;
    const languages = this.identifyLanguages(tagged);
    try {
      const { results, cacheHits, cacheWrites } = await trace.stage(SPANS.infer, () =>
        untilAborted(this.infer(tagged, batch.signal, use), batch.signal),
      );
      const identified = await languages;
      const identify = identified
        ? (text: string) => identified.get(text) ?? sharedLanguageIdentifier().identify(text)
        : undefined;
      const events: ProducedRecord[] = [];
      const deadLetters: ProducedRecord[] = [];
      made = {
        items,
        taggedIds,
        duplicates: messages.length - tagged.length,
        events: [],
        deadLetters: [],
        cacheHits,
        cacheWrites,
        timestamps: [],
        dedup: use.dedup,
        tags: [],
        offer: this.parts.onCommitted?.(),
      };
      const deadLetter = (code: DeadLetterCode, reason: string, item: (typeof items)[number]) => {
        deadLetters.push(
          deadLetterMessage(
            { code, message: reason, source: item.source },
            item.message,
            this.parts.workerVersion,
            limits?.deadLetterBytes,
          ),
        );
        made?.deadLetters.push(code);
      };
      for (const item of items) {
        const { decoded, message, source } = item;
        if (decoded.kind === "dead") {
          deadLetter(decoded.code, decoded.message, item);
        } else if (decoded.kind === "message" && results.has(item)) {
          const result = results.get(item) as Classified;
          const built = buildEvent(
            decoded,
            source,
            result,
            use.classifier.model,
            new Date(),
            this.parts.config.input.detectLanguage,
            identify,
          );
          const event = eventMessage(built, message);
          const bytes = messageBytes(event);
          if (limits && bytes > limits.eventBytes) {
            // The broker would refuse it for ever (passthrough of a large record, a huge key).
            deadLetter(
              "OUTPUT_TOO_LARGE",
              `the event would be ${bytes} bytes, more than the output topic takes (${limits.eventBytes}, from its max.message.bytes)`,
              item,
            );
            continue;
          }
          events.push(event);
          made.events.push(eventKind(built));
          if (made.offer) made.tags.push({ text: decoded.text, event: built });
          const time = Number(message.timestamp);
          if (source.timestamp !== "" && time > 0) made.timestamps.push(time);
        }
      }
      // A rebalance or seek made the batch obsolete; a shutdown does not: finishing it saves redoing it.
      if (batch.isStale()) throw new AbandonedBatch();
      await trace.stage(SPANS.produce, () =>
        this.parts.sink.commit({
          topic: batch.topic,
          partition: batch.partition,
          events,
          deadLetters,
          nextOffset,
          ...(batch.commitMetadata !== undefined ? { metadata: batch.commitMetadata } : {}),
          commitOffset: batch.commitOffset,
        }),
      );
    } catch (error) {
      if (error instanceof OffsetCommitError && made) {
        // At-least-once: the outputs exist, so their claims stand; the records are read again and
        // skipped as seen (or, without de-duplication, written again: at least once).
        await this.committed(batch, made, last.offset);
        return "abandoned";
      }
      if (error instanceof CommitOutcomeUnknownError && made) {
        return this.settleUnknownCommit(batch, made, nextOffset, last.offset, error);
      }
      await use.dedup?.release(taggedIds);
      if (error instanceof AbandonedBatch) return "abandoned";
      throw error;
    }
    this.ownCommit(batch, nextOffset, taggedIds);
    await this.committed(batch, made, last.offset);
    trace.span.setAttributes({
      [ATTRIBUTES.events]: made.events.length,
      [ATTRIBUTES.deadLetters]: made.deadLetters.length,
      [ATTRIBUTES.duplicates]: made.duplicates,
    });
    return "processed";
  }

  /**
   * A transaction's commit got no answer (coordinator moved, connection dropped). Fencing the
   * transactional id again completes or aborts it, and the committed offset then says which: the
   * claims are confirmed or released accordingly, never released as if it failed when it did not.
   * When even that cannot be learnt, the claims stay pending (they expire) and the error goes up.
   */
  private async settleUnknownCommit(
    batch: PartitionBatch,
    made: Made,
    nextOffset: string,
    lastOffset: string,
    error: Error,
  ): Promise<"processed" | "abandoned"> {
    let committed: string | undefined;
    this.unsure.add(key(batch));
    try {
      committed = await this.fenceAndReadOffset(batch);
    } catch {
      throw error;
    }
    if (committed !== undefined && BigInt(committed) >= BigInt(nextOffset)) {
      this.ownCommit(batch, nextOffset, made.taggedIds);
      await this.committed(batch, made, lastOffset);
      return "processed";
    }
    await made.dedup?.release(made.taggedIds);
    if (committed !== undefined) this.parts.source.seek(batch, committed);
    return "abandoned";
  }

  /** After the outputs were committed: confirm the claims, store the results, count and measure. */
  private async committed(batch: PartitionBatch, made: Made, lastOffset: string): Promise<void> {
    const { counters, telemetry } = this.parts;
    const committedAt = Date.now();
    await Promise.all([made.dedup?.confirm(made.taggedIds), made.dedup?.results?.putCached(made.cacheWrites)]);
    for (const timestamp of made.timestamps) telemetry.metrics.recordLatency(committedAt - timestamp);
    telemetry.metrics.setLag(batch.topic, batch.partition, lagAfter(batch.highWatermark, lastOffset));
    counters.records += made.items.length;
    counters.countEvents(made.events);
    counters.duplicates += made.duplicates;
    counters.cacheHits += made.cacheHits;
    for (const code of made.deadLetters) counters.deadLetter(code);
    for (const { decoded } of made.items) {
      if (decoded.kind === "tombstone") counters.tombstones++;
      else if (decoded.kind === "message" && decoded.langIgnored) counters.inputLangIgnored++;
    }
    if (made.tags.length > 0) made.offer?.(made.tags);
  }

  /**
   * The languages of the messages to tag that need identifying (`input.detectLanguage`), by text,
   * from `identifyAll`; undefined when there is none to identify or no `identifyAll`, or when it
   * failed (the events then identify in process: a language is never worth a batch).
   */
  private identifyLanguages(
    tagged: readonly { decoded: { kind: string } }[],
  ): Promise<Map<string, Identified> | undefined> {
    const { identifyAll, config } = this.parts;
    const mode = config.input.detectLanguage;
    if (!identifyAll || mode === "off") return Promise.resolve(undefined);
    const texts = new Set<string>();
    for (const item of tagged) {
      const decoded = item.decoded as DecodedMessage;
      if (mode === "always" || !decoded.lang) texts.add(decoded.text);
    }
    if (texts.size === 0) return Promise.resolve(undefined);
    const list = [...texts];
    return identifyAll(list).then(
      (found) => new Map(list.map((text, i) => [text, found[i] as Identified])),
      () => undefined,
    );
  }

  /**
   * Results for the messages to tag: from the result cache where an identical normalised text was
   * tagged before (one MGET), from the shared batcher otherwise. Waiting for batcher capacity
   * holds this partition's batch, which is what stops the consumer fetching it: backpressure.
   */
  private async infer<T extends { decoded: { kind: string } }>(
    tagged: T[],
    signal: AbortSignal,
    { classifier, dedup }: Tagging,
  ): Promise<{ results: Map<T, Classified>; cacheHits: number; cacheWrites: CachedResult<Classified>[] }> {
    const cache = dedup?.results;
    const texts = tagged.map((item) => (item.decoded as DecodedMessage).text);
    const hashes = cache ? texts.map(textHash) : [];
    const cached = cache ? await cache.getCached(hashes) : [];
    const pending = new Map<T, Promise<Classified>>();
    const results = new Map<T, Classified>();
    const misses: number[] = [];
    for (const [i, item] of tagged.entries()) {
      const hit = cached[i];
      if (hit !== undefined && isClassified(hit, classifier.model.labels)) results.set(item, hit);
      else misses.push(i);
    }
    const cacheHits = tagged.length - misses.length;
    // The chunk's texts in one call, tokenized off the event loop.
    const encoded = await untilAborted(classifier.encodeAll(misses.map((i) => texts[i] as string)), signal);
    for (const [n, i] of misses.entries()) {
      const item = tagged[i] as T;
      // `while`: every waiting partition wakes at once, and the first to run may fill the queue again.
      // An abandoned batch submits nothing more.
      while (!classifier.hasCapacity) await untilAborted(classifier.whenCapacity(), signal);
      if (signal.aborted) throw new AbandonedBatch();
      const result = classifier.submit(encoded[n] as EncodedText, signal);
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

  private decode(batch: PartitionBatch, message: ConsumedRecord) {
    // Any timestamp gives coordinates (a time outside a date's range keeps only its raw value).
    const source = {
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      ...recordTimestamp(message.timestamp),
    };
    const decoded = decodeRecord(
      { key: message.key, value: message.value, source, headerCount: message.headerCount },
      this.parts.config.input,
    );
    return { message, source, decoded };
  }

  /**
   * The messages to tag: ids not seen before (one Redis round trip). In `fail` mode an unreachable
   * Redis holds the batch (readiness false, heartbeats go on) until it answers; undefined when
   * the batch must be abandoned meanwhile (shutdown, rebalance).
   */
  private async claim<
    T extends { decoded: { kind: string }; source: { topic: string; partition: number; offset: string } },
  >(batch: PartitionBatch, all: T[], dedup: RedisDeduplicator | undefined): Promise<T[] | undefined> {
    if (!dedup || all.length === 0) return all;
    // Read again after a sweep aborted their outputs: tagged again whatever Redis says.
    const redo = this.redo.get(key(batch));
    const again = new Set<T>();
    if (redo) {
      // The first copy of each id only: a later one was a duplicate the first time too.
      const seen = new Set<string>();
      for (const m of all) {
        const id = (m.decoded as DecodedMessage).id;
        if (BigInt(m.source.offset) < redo.next && redo.ids.has(id) && !seen.has(id)) again.add(m);
        seen.add(id);
      }
    }
    const messages = again.size > 0 ? all.filter((m) => !again.has(m)) : all;
    if (messages.length === 0) return all;
    const ids = messages.map((m) => (m.decoded as DecodedMessage).id);
    const sources = messages.map((m) => `${m.source.topic}/${m.source.partition}/${m.source.offset}`);
    for (let attempt = 1; ; attempt++) {
      try {
        const outcomes = await dedup.claimDetailed(ids, sources);
        this.parts.setReady?.(true);
        const claimed = new Set(messages.filter((_, i) => outcomes[i] === "new" || outcomes[i] === "retaken"));
        return all.filter((m) => again.has(m) || claimed.has(m));
      } catch (error) {
        if (!(error instanceof DedupUnavailableError)) throw error;
        this.parts.setReady?.(false);
        await batch.heartbeat().catch(() => {});
        if (batch.isStale() || !batch.isRunning() || batch.signal.aborted) return undefined;
        await pause(attempt, { initialMs: 100, maxMs: 2000 });
      }
    }
  }
}

/** The batch became obsolete (rebalance, seek, drain timeout) before its commit. */
class AbandonedBatch extends Error {}

/** The promise's outcome, or AbandonedBatch as soon as the signal aborts (the work itself goes on, unobserved). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbandonedBatch());
  return new Promise<T>((resolve, reject) => {
    const abandon = () => reject(new AbandonedBatch());
    signal.addEventListener("abort", abandon, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abandon);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", abandon);
        reject(error);
      },
    );
  });
}

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
