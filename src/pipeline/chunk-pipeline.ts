/**
 * What a Kafka job does with one partition chunk (a partition's slice committed as one
 * transaction), stage by stage (`stages/`): decode, make ids and encode the texts (`work/`: on a
 * processing thread) → claim the ids (one round trip) → infer in the shared batcher → build and
 * serialise the events (`work/` again) → the records of events and dead letters in offset order →
 * commit outputs and offset as the delivery mode does (`delivery.ts`; with two chunks of a
 * partition in flight, only once the chunk before was committed) → account (confirm the claims,
 * count). Anything that fails before the commit releases the claims and leaves the offset
 * where it was, so the chunk is read again: finished and committed, or abandoned uncommitted, never
 * half of each.
 */
import type { Config } from "../config/index.js";
import type { ChunkHandler, PartitionChunk, TopicPartition } from "../consumers/chunk-source.js";
import type { SchemaRegistryUnavailableError } from "../errors/errors.js";
import { AbandonedChunkError, CommitOutcomeUnknownError, FencedError } from "../errors/errors.js";
import type { Lease } from "../inference/model-slot.js";
import type { ConsumedRecord } from "../kafka/client.js";
import type { Identified } from "../language/identify.js";
import type { SchemaCache } from "../schema-registry/schema-cache.js";
import type { ProducedRecord } from "../sinks/kafka/partition-sink.js";
import { deadLetterMessage, eventRecord } from "../sinks/kafka/records.js";
import { messageBytes } from "../sinks/kafka/request-chunks.js";
import { ATTRIBUTES, type ChunkTrace, SPANS, type Telemetry } from "../telemetry/index.js";
import { untilAborted } from "./abandoned.js";
import type { ChunkSizer } from "./chunk-sizer.js";
import type { Delivery } from "./delivery.js";
import type { ChunkTagging, CommittedTag } from "./ports.js";
import type { RunCounters } from "./run-counters.js";
import { accountChunk, type ChunkMade, lagAfter } from "./stages/account-chunk.js";
import { claimChunk } from "./stages/claim-chunk.js";
import { recordSource } from "./stages/decode-chunk.js";
import { inferChunk } from "./stages/infer-chunk.js";
import { resolveSchemas, untilRegistryAnswers } from "./stages/resolve-schemas.js";
import type { Built, ChunkWork, DeadRecord, Prepared, PreparedChunk } from "./work/chunk-work.js";
import { InProcessChunkWork } from "./work/in-process.js";

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
  /** The schemas of registry formats (`input.format` avro, protobuf, json-schema), looked up before decoding. */
  schemas?: SchemaCache;
  /** Look up the records' schemas before decoding (a registry input format). */
  registryInput?: boolean;
  /** `output.format: avro`: the event schema and the subject it is registered under (in `schemas`). */
  avroOutput?: { subject: string; schema: string };
  /** Readiness for the health endpoint: false while the schema registry does not answer. */
  setSchemaRegistryReady?: (ready: boolean) => void;
  /** Told when a chunk starts waiting for the schema registry. */
  onSchemaRegistryUnavailable?: (error: SchemaRegistryUnavailableError) => void;
  /** Where chunks are decoded and their events built; default: in the process (`identifyAll` identifies their languages). */
  work?: ChunkWork;
  /** Identifies a chunk's languages elsewhere (the language thread), for the default `work`; default: here, per event. */
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

/** The chunk is to be given up (rebalance, seek, stop): nothing waits for a store on its behalf. */
const givenUp = (chunk: PartitionChunk) => chunk.isStale() || !chunk.isRunning() || chunk.signal.aborted;

export class ChunkPipeline implements ChunkHandler {
  private assigned = new Map<string, TopicPartition>();
  private readonly work: ChunkWork;

  constructor(private readonly parts: ChunkPipelineParts) {
    this.work = parts.work ?? new InProcessChunkWork(parts.config.input, parts.identifyAll);
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
    // What the chunk took as its partition sees it: from when the chunk before (two in flight)
    // ended, so the sizer keeps a partition's commits `chunkTargetMs` apart whatever the overlap
    // (measured from its own start, chunks would come out half as large, twice as many).
    let started = performance.now();
    void chunk.previous?.then(() => {
      started = Math.max(started, performance.now());
    });
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
    const cache = use.dedup?.results;
    const { schemas: schemaCache, avroOutput } = this.parts;
    const waiting = {
      givenUp: () => givenUp(chunk),
      setReady: this.parts.setSchemaRegistryReady,
      onUnavailable: this.parts.onSchemaRegistryUnavailable,
    };
    // Avro events: the event schema's id (registered once), before anything of the chunk is done.
    let avroSchemaId: number | undefined;
    if (schemaCache && avroOutput) {
      avroSchemaId = await untilRegistryAnswers(
        () => schemaCache.register(avroOutput.subject, avroOutput.schema, "BACKWARD"),
        waiting,
      );
      if (avroSchemaId === undefined) return "abandoned";
    }
    // Registry formats: the schemas first, here, so decoding (on a processing thread) needs no registry.
    const schemas =
      schemaCache && this.parts.registryInput ? await resolveSchemas(chunk.messages, schemaCache, waiting) : undefined;
    if (schemaCache && this.parts.registryInput && schemas === undefined) return "abandoned";
    const prepared = await trace.stage(SPANS.consume, () =>
      this.work.prepare(chunk, chunk.messages, use.classifier, {
        hashes: cache !== undefined,
        ...(schemas ? { schemas } : {}),
      }),
    );
    try {
      return await this.tagAndCommit(chunk, trace, use, prepared, avroSchemaId);
    } finally {
      prepared.release();
    }
  }

  private async tagAndCommit(
    chunk: PartitionChunk,
    trace: ChunkTrace,
    use: ChunkTagging,
    prepared: PreparedChunk,
    avroSchemaId: number | undefined,
  ): Promise<Outcome> {
    const { config, delivery } = this.parts;
    const records = chunk.messages;
    // Ids to tag again (after a sweep) are forgotten as the chunk before commits them: claim after it.
    if (delivery.retag(chunk) && !(await previousCommitted(chunk))) return "abandoned";
    const tagged = await trace.stage(SPANS.dedup, () =>
      claimChunk(
        {
          partition: `${chunk.topic}/${chunk.partition}/`,
          ids: prepared.ids,
          offsets: Array.from(prepared.messageRecords, (r) => (records[r] as ConsumedRecord).offset),
        },
        {
          dedup: use.dedup,
          retag: delivery.retag(chunk),
          givenUp: () => givenUp(chunk),
          setReady: this.parts.setReady,
        },
      ),
    );
    // The next chunk of the partition may start: its claim comes after this one's.
    chunk.claimed?.();
    if (tagged === undefined) return "abandoned";
    const taggedIds = tagged.map((m) => prepared.ids[m] as string);
    const { nextOffset } = chunk;
    let made: ChunkMade;
    let outcome: Awaited<ReturnType<Delivery["commit"]>>;
    try {
      const inferred = await trace.stage(SPANS.infer, () =>
        untilAborted(
          inferChunk({ tagged, hashes: prepared.hashes, encodings: prepared.encodings }, chunk.signal, use),
          chunk.signal,
        ),
      );
      const offer = this.parts.onCommitted?.();
      const { model } = use.classifier;
      const { cacheHits, cacheWrites } = inferred;
      const built = await prepared.build({
        tagged: Int32Array.from(tagged),
        scores: inferred.scores,
        truncated: inferred.truncated,
        tokens: inferred.tokens,
        model: { name: model.name, revision: model.revision },
        labels: [...model.labels],
        detectLanguage: config.input.detectLanguage,
        processedAt: Date.now(),
        keepTags: offer !== undefined,
        ...(avroSchemaId !== undefined ? { avroSchemaId } : {}),
      });
      const outputs = this.outputs(chunk, prepared, tagged, built);
      made = {
        records: records.length,
        tombstones: prepared.tombstones,
        langIgnored: prepared.langIgnored,
        taggedIds,
        duplicates: prepared.ids.length - tagged.length,
        events: outputs.kinds,
        deadLetters: outputs.deadLetterCodes,
        cacheHits,
        cacheWrites,
        timestamps: outputs.timestamps,
        dedup: use.dedup,
        tags: outputs.tags,
        offer,
      };
      // Commits in offset order, and none behind a chunk not committed: this offset would pass that
      // chunk's records, and this claim may have skipped ids it holds pending; both would be lost.
      if (!(await previousCommitted(chunk))) throw new AbandonedChunkError();
      // A rebalance or seek made the chunk obsolete; a shutdown does not: finishing it saves redoing it.
      if (chunk.isStale()) throw new AbandonedChunkError();
      outcome = await trace.stage(SPANS.produce, () =>
        delivery.commit(
          {
            topic: chunk.topic,
            partition: chunk.partition,
            events: outputs.events,
            deadLetters: outputs.deadLetters,
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
    const lastOffset = records[records.length - 1]?.offset ?? nextOffset;
    await accountChunk(made, lagAfter(chunk.highWatermark, lastOffset), {
      counters: this.parts.counters,
      recordLatency: (ms) => metrics.recordLatency(ms),
      setLag: (lag) => metrics.setLag(chunk.topic, chunk.partition, lag),
    });
    if (outcome === "outputs-only") return "abandoned";
    trace.span.setAttributes({
      [ATTRIBUTES.events]: eventCount(made),
      [ATTRIBUTES.deadLetters]: made.deadLetters.length,
      [ATTRIBUTES.duplicates]: made.duplicates,
    });
    return "processed";
  }

  /**
   * The chunk's records to write, in offset order: an event for each built one the output takes
   * (else an OUTPUT_TOO_LARGE dead letter: the broker would refuse it for ever, e.g. passthrough of
   * a large record), a dead letter for each record that could not be an event.
   */
  private outputs(chunk: PartitionChunk, prepared: Prepared, tagged: readonly number[], built: Built) {
    const records = chunk.messages;
    const { limits, workerVersion } = this.parts;
    const maxEventBytes = limits?.eventBytes ?? Number.POSITIVE_INFINITY;
    const events: ProducedRecord[] = [];
    const dead: DeadRecord[] = [...prepared.dead];
    const counts = new Array<number>(built.kinds.length).fill(0);
    const timestamps: number[] = [];
    const tags: CommittedTag[] = [];
    let tooLarge = false;
    for (const [e, m] of tagged.entries()) {
      const index = prepared.messageRecords[m] as number;
      const record = records[index] as ConsumedRecord;
      const start = built.starts[e] as number;
      const length = (built.starts[e + 1] as number) - start;
      const output = eventRecord(Buffer.from(built.values.buffer, built.values.byteOffset + start, length), record);
      if (maxEventBytes !== Number.POSITIVE_INFINITY) {
        const bytes = messageBytes(output);
        if (bytes > maxEventBytes) {
          const message = `the event would be ${bytes} bytes, more than the output topic takes (${maxEventBytes}, from its max.message.bytes)`;
          dead.push({ index, code: "OUTPUT_TOO_LARGE", message });
          tooLarge = true;
          continue;
        }
      }
      events.push(output);
      const k = built.kindOf[e] as number;
      counts[k] = (counts[k] as number) + 1;
      const time = built.timestamps[e] as number;
      if (!Number.isNaN(time)) timestamps.push(time);
      if (built.tags.length > 0) tags.push(built.tags[e] as CommittedTag);
    }
    if (tooLarge) dead.sort((a, b) => a.index - b.index);
    const deadLetters = dead.map(({ index, code, message }) => {
      const record = records[index] as ConsumedRecord;
      return deadLetterMessage(
        { code, message, source: recordSource(chunk, record) },
        record,
        workerVersion,
        limits?.deadLetterBytes,
      );
    });
    return {
      events,
      deadLetters,
      deadLetterCodes: dead.map((d) => d.code),
      kinds: built.kinds.map((kind, k) => ({ ...kind, count: counts[k] as number })).filter((kind) => kind.count > 0),
      timestamps,
      tags,
    };
  }
}

/**
 * Waits for the partition's chunk before this one, when it is still in flight: true once it was
 * committed; false when it was not, or when this chunk is given up (drain signal) meanwhile.
 */
async function previousCommitted(chunk: PartitionChunk): Promise<boolean> {
  if (chunk.previous === undefined) return true;
  try {
    return await untilAborted(chunk.previous, chunk.signal);
  } catch {
    return false;
  }
}

function eventCount(made: ChunkMade): number {
  return made.events.reduce((sum, kind) => sum + kind.count, 0);
}
