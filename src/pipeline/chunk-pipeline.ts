/**
 * What a Kafka job does with one partition chunk (a partition's slice committed as one
 * transaction), stage by stage (`stages/`): decode and validate → claim the ids (one round trip) →
 * infer in the shared batcher → build events and dead letters in offset order → commit outputs and
 * offset as the delivery mode does (`delivery.ts`) → account (confirm the claims, count). Anything
 * that fails before the commit releases the claims and leaves the offset where it was, so the chunk
 * is read again: finished and committed, or abandoned uncommitted, never half of each.
 */
import type { Config } from "../config/index.js";
import type { ChunkHandler, PartitionChunk, TopicPartition } from "../consumers/chunk-source.js";
import { AbandonedChunkError, CommitOutcomeUnknownError, FencedError } from "../errors/errors.js";
import type { Lease } from "../inference/model-slot.js";
import { sharedLanguageIdentifier } from "../language/event-language.js";
import type { Identified } from "../language/identify.js";
import type { ProducedRecord } from "../sinks/kafka/partition-sink.js";
import { deadLetterMessage, eventMessage } from "../sinks/kafka/records.js";
import { messageBytes } from "../sinks/kafka/request-chunks.js";
import { ATTRIBUTES, type ChunkTrace, SPANS, type Telemetry } from "../telemetry/index.js";
import { untilAborted } from "./abandoned.js";
import type { ChunkSizer } from "./chunk-sizer.js";
import type { Delivery } from "./delivery.js";
import type { ChunkTagging, CommittedTag } from "./ports.js";
import type { RunCounters } from "./run-counters.js";
import { accountChunk, type ChunkMade, lagAfter } from "./stages/account-chunk.js";
import { buildChunk, type OutputFormat } from "./stages/build-chunk.js";
import { claimChunk } from "./stages/claim-chunk.js";
import { decodeChunk } from "./stages/decode-chunk.js";
import { identifyLanguages, inferChunk } from "./stages/infer-chunk.js";
import { isMessage } from "./stages/items.js";

/** The largest record each output topic takes (its `max.message.bytes`, less a record batch's overhead). */
export interface OutputLimits {
  eventBytes: number;
  deadLetterBytes: number;
}

export interface ChunkPipelineParts {
  config: Pick<Config, "input">;
  /** How chunks are committed (the delivery mode, chosen by the Kafka job). */
  delivery: Delivery;
  /**
   * The model and de-duplication of a chunk, leased at its start and released at its end, so a
   * model switch lets in-flight chunks finish on the old model.
   */
  tagging: () => Lease<ChunkTagging>;
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
   * Where a chunk's tagged messages go once its outputs are committed (shadow mode), asked at the
   * chunk's start: undefined (no shadow running) collects nothing. It must neither throw nor wait.
   */
  onCommitted?: () => ((tagged: readonly CommittedTag[]) => void) | undefined;
}

type Outcome = "processed" | "abandoned";

const key = ({ topic, partition }: TopicPartition) => `${topic}:${partition}`;

export class ChunkPipeline implements ChunkHandler {
  private assigned = new Map<string, TopicPartition>();
  private readonly format: OutputFormat<PartitionChunk["messages"][number], ProducedRecord>;

  constructor(private readonly parts: ChunkPipelineParts) {
    const { limits, workerVersion } = parts;
    this.format = {
      event: eventMessage,
      deadLetter: (letter, original) => deadLetterMessage(letter, original, workerVersion, limits?.deadLetterBytes),
      bytes: messageBytes,
      maxEventBytes: limits?.eventBytes ?? Number.POSITIVE_INFINITY,
    };
  }

  onAssignment(assigned: TopicPartition[]): void {
    const next = new Map(assigned.map((tp) => [key(tp), tp]));
    const dropped = [...this.assigned].filter(([k]) => !next.has(k)).map(([, tp]) => tp);
    for (const tp of dropped) this.parts.telemetry.metrics.forgetLag(tp.topic, tp.partition);
    this.parts.delivery.onAssignment(assigned, dropped);
    this.assigned = next;
  }

  async handle(chunk: PartitionChunk): Promise<Outcome> {
    const { telemetry, delivery } = this.parts;
    // The source beats while the chunk is here (it owns the heartbeats): nothing to do for it here.
    if (!(await delivery.admit(chunk, chunk.messages[0]?.offset))) return "abandoned";
    const trace = telemetry.tracing.chunk(chunk.topic, chunk.partition, chunk.messages);
    const started = performance.now();
    const lease = this.parts.tagging();
    try {
      const outcome = await this.process(chunk, trace, lease.value);
      if (outcome === "processed") this.parts.chunks?.record(chunk.messages.length, performance.now() - started);
      trace.end(outcome);
      return outcome;
    } catch (error) {
      delivery.failed(chunk);
      // Another worker owns the partition now: what we did is void; it reads from its own commit.
      if (error instanceof FencedError) {
        trace.end("fenced");
        return "abandoned";
      }
      trace.end("failed", error);
      throw error;
    } finally {
      lease.release();
    }
  }

  private async process(chunk: PartitionChunk, trace: ChunkTrace, use: ChunkTagging): Promise<Outcome> {
    const { config, delivery } = this.parts;
    const items = await trace.stage(SPANS.consume, () => decodeChunk(chunk, chunk.messages, config.input));
    const messages = items.filter(isMessage);
    const tagged = await trace.stage(SPANS.dedup, () =>
      claimChunk(messages, {
        dedup: use.dedup,
        retag: delivery.retag(chunk),
        givenUp: () => chunk.isStale() || !chunk.isRunning() || chunk.signal.aborted,
        setReady: this.parts.setReady,
      }),
    );
    if (tagged === undefined) return "abandoned";
    const taggedIds = tagged.map((item) => item.decoded.id);
    const { nextOffset } = chunk;
    const languages = identifyLanguages(tagged, config.input.detectLanguage, this.parts.identifyAll);
    let made: ChunkMade;
    let outcome: Awaited<ReturnType<Delivery["commit"]>>;
    try {
      const inferred = await trace.stage(SPANS.infer, () =>
        untilAborted(inferChunk(tagged, chunk.signal, use), chunk.signal),
      );
      const identified = await languages;
      const offer = this.parts.onCommitted?.();
      const built = buildChunk(items, inferred.results, {
        model: use.classifier.model,
        detectLanguage: config.input.detectLanguage,
        identify: identified
          ? (text: string) => identified.get(text) ?? sharedLanguageIdentifier().identify(text)
          : undefined,
        format: this.format,
        keepTags: offer !== undefined,
      });
      made = {
        items,
        taggedIds,
        duplicates: messages.length - tagged.length,
        events: built.eventKinds,
        deadLetters: built.deadLetterCodes,
        cacheHits: inferred.cacheHits,
        cacheWrites: inferred.cacheWrites,
        timestamps: built.timestamps,
        dedup: use.dedup,
        tags: built.tags,
        offer,
      };
      // A rebalance or seek made the chunk obsolete; a shutdown does not: finishing it saves redoing it.
      if (chunk.isStale()) throw new AbandonedChunkError();
      outcome = await trace.stage(SPANS.produce, () =>
        delivery.commit(
          {
            topic: chunk.topic,
            partition: chunk.partition,
            events: built.events,
            deadLetters: built.deadLetters,
            nextOffset,
            ...(chunk.commitMetadata !== undefined ? { metadata: chunk.commitMetadata } : {}),
            commitOffset: chunk.commitOffset,
          },
          taggedIds,
        ),
      );
    } catch (error) {
      // An unknown outcome that could not be settled: the claims stay pending (they expire).
      if (!(error instanceof CommitOutcomeUnknownError)) await use.dedup?.release(taggedIds);
      if (error instanceof AbandonedChunkError) return "abandoned";
      throw error;
    }
    if (outcome === "not-committed") {
      await use.dedup?.release(taggedIds);
      return "abandoned";
    }
    const { metrics } = this.parts.telemetry;
    const lastOffset = chunk.messages[chunk.messages.length - 1]?.offset ?? nextOffset;
    await accountChunk(made, lagAfter(chunk.highWatermark, lastOffset), {
      counters: this.parts.counters,
      recordLatency: (ms) => metrics.recordLatency(ms),
      setLag: (lag) => metrics.setLag(chunk.topic, chunk.partition, lag),
    });
    if (outcome === "outputs-only") return "abandoned";
    trace.span.setAttributes({
      [ATTRIBUTES.events]: made.events.length,
      [ATTRIBUTES.deadLetters]: made.deadLetters.length,
      [ATTRIBUTES.duplicates]: made.duplicates,
    });
    return "processed";
  }
}
