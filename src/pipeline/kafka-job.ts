/**
 * The assembly every Kafka job shares — the live worker (`startWorker`) and a replay
 * (`startReplay`): the classifier, Redis de-duplication, the Kafka client, the output topics
 * check, the sink of the delivery mode and the batch processor, around a source the caller builds
 * on the job's group member (the consumer group source, or the bounded replay reader). The member
 * joins `config.kafka.groupId`; the sink commits that group's offsets and derives its
 * transactional ids from it.
 */
import type { Config } from "../config/index.js";
import type { ChunkSource } from "../consumers/chunk-source.js";
import { RedisDeduplicator } from "../dedup/redis-dedup.js";
import { sentimentEventAvroSchema } from "../events/sentiment-avro.js";
import { checkSentimentLabels, type ModelIdentity } from "../events/sentiment-event.js";
import { SentimentClassifier } from "../inference/classifier.js";
import { ModelSlot, type SwitchableModels } from "../inference/model-slot.js";
import type { GroupMember, KafkaAdmin, RecordProducer, TopicRequirement } from "../kafka/client.js";
import { connectKafka } from "../kafka/kafkajs-client.js";
import { ThreadedLanguageIdentifier } from "../language/language-thread.js";
import { SchemaRegistryClient } from "../schema-registry/registry-client.js";
import { SchemaCache } from "../schema-registry/schema-cache.js";
import { isRegistryFormat } from "../schema-registry/schema-decoders.js";
import { AtLeastOnceSink } from "../sinks/kafka/at-least-once-sink.js";
import { ExactlyOnceSink } from "../sinks/kafka/exactly-once-sink.js";
import { MAX_REQUEST_BYTES } from "../sinks/kafka/request-chunks.js";
import type { Log, Telemetry } from "../telemetry/index.js";
import { ChunkPipeline, type OutputLimits } from "./chunk-pipeline.js";
import { ChunkSizer } from "./chunk-sizer.js";
import { atLeastOnce, type Delivery, exactlyOnce } from "./delivery.js";
import type { CommittedTag } from "./ports.js";
import { RunCounters } from "./run-counters.js";
import { processingThreads, ThreadPoolChunkWork } from "./work/thread-pool.js";

export interface KafkaJobOptions<S extends ChunkSource> {
  workerVersion: string;
  telemetry: Telemetry;
  log: Log;
  /** Topics the source reads, with the setting that names them: they must exist (never created). */
  inputTopics?: readonly Omit<TopicRequirement, "input">[];
  /**
   * Builds the source on the job's group member once the model is loaded (it may refuse by
   * throwing); `chunkRecords` is how many records of a partition to hand over at once, now.
   */
  createSource(parts: { member: GroupMember; admin: KafkaAdmin; model: ModelIdentity; chunkRecords: () => number }): S;
  /** The revision the de-duplication keys are made of; default the model's own. */
  dedupRevision?: (modelRevision: string) => string;
  /** Where a chunk's tagged messages go once committed (shadow mode), asked per chunk; undefined: nowhere. */
  onCommitted?: () => ((tagged: readonly CommittedTag[]) => void) | undefined;
}

/** What a chunk tags with: one model and the de-duplication keyed by its revision. */
export interface Tagging {
  classifier: SentimentClassifier;
  dedup: RedisDeduplicator | undefined;
}

/** The model in use and how to load another one with its de-duplication (a model switch). */
export type TaggingModels = SwitchableModels<Tagging>;

export interface KafkaJob<S extends ChunkSource> {
  readonly source: S;
  readonly counters: RunCounters;
  readonly model: ModelIdentity;
  readonly models: TaggingModels;
  /** A connected idempotent producer of the job's client (shadow events); its owner disconnects it. */
  producer(): Promise<RecordProducer>;
  /** Redis answers, or de-duplication is off or bypassed. */
  redisReady(): boolean;
  /** The model in use runs (its threads are up: false while one that died is not replaced yet). */
  modelReady(): boolean;
  /** The schema registry answered the last lookup; undefined without a registry format. */
  schemaRegistryReady(): boolean | undefined;
  /** Stops the source (in-flight batches finish or are abandoned), then closes everything. */
  stop(): Promise<void>;
}

/** Partitions processed at once: enough to fill a batch; each holds at most one fetch in memory. */
export const PARTITION_CONCURRENCY = 8;

/**
 * Bounds of a chunk (records of one partition handed to the pipeline at once), and where it starts:
 * small, since nothing is known yet of the model (with the CPU model, 16 records on each of 6
 * partitions are 4 s of work); a chunk at most quadruples, so a fast model reaches thousands within
 * a few chunks.
 */
export const CHUNK_RECORDS = { min: 16, max: 8192, initial: 16 } as const;

export async function startKafkaJob<S extends ChunkSource>(
  config: Config,
  options: KafkaJobOptions<S>,
): Promise<KafkaJob<S>> {
  const { telemetry, log } = options;
  // Closed in reverse order by stop(), or at once when start-up fails half-way (so the process can exit).
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  };
  try {
    let redisUp = true;
    const load = async (model: Config["model"]): Promise<Tagging> => {
      const classifier = await SentimentClassifier.load({
        model,
        batching: config.batching,
        runtime: config.runtime,
        log,
        onBatch: (stats) => telemetry.metrics.recordBatch(stats),
        onInference: (ms) => telemetry.metrics.recordInference(ms),
      });
      try {
        checkSentimentLabels(classifier.model.labels);
      } catch (error) {
        await classifier.close();
        throw error;
      }
      const revision = classifier.model.revision;
      const dedup = config.dedup.enabled
        ? RedisDeduplicator.fromConfig(config, options.dedupRevision?.(revision) ?? revision, {
            onAvailabilityChange: (up) => {
              // The first connection reports "up" too; only a change is news.
              if (up !== redisUp) log(up ? "Redis answers again" : "Redis does not answer");
              redisUp = up;
            },
          })
        : undefined;
      if (dedup) telemetry.metrics.trackDedup(dedup.counters);
      try {
        // Not ready until Redis answers (fail mode); refused credentials stop start-up.
        const down = await dedup?.firstConnect();
        if (down !== undefined && redisUp) {
          log(`Redis does not answer: ${down}`);
          redisUp = false;
        }
      } catch (error) {
        await Promise.allSettled([classifier.close(), dedup?.close()]);
        throw error;
      }
      return { classifier, dedup };
    };
    const slot = new ModelSlot(await load(config.model), async ({ classifier, dedup }) => {
      await Promise.allSettled([classifier.close(), dedup?.close()]);
    });
    closers.push(() => slot.close());
    const { classifier, dedup } = slot.current;

    const kafka = await connectKafka(config.kafka);
    closers.push(() => kafka.close());
    const { admin } = kafka;
    // The worker writes its outputs and may create them; it only reads its inputs, which a subscribe
    // to a missing topic would report as an error that names no setting.
    await admin.ensureTopics(
      [
        { topic: config.kafka.outputTopic, field: "kafka.outputTopic" },
        { topic: config.kafka.deadLetterTopic, field: "kafka.deadLetterTopic" },
        ...(options.inputTopics ?? []).map((t) => ({ ...t, input: true })),
        ...(config.rollout.shadow.topic ? [{ topic: config.rollout.shadow.topic, field: "rollout.shadow.topic" }] : []),
      ],
      config.kafka.createTopics,
    );
    const limits = await outputLimits(admin, config);
    const member = kafka.member({
      groupId: config.kafka.groupId,
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      rebalanceTimeoutMs: config.kafka.rebalanceTimeoutMs,
      heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
    });
    const chunks = new ChunkSizer({ targetMs: config.batching.chunkTargetMs, ...CHUNK_RECORDS });
    const source = options.createSource({
      member,
      admin,
      model: classifier.model,
      chunkRecords: () => chunks.size,
    });
    // The delivery mode, chosen here once: the pipeline asks its delivery, never the setting.
    const delivery: Delivery =
      config.kafka.delivery === "exactly-once"
        ? exactlyOnce({
            sink: new ExactlyOnceSink(kafka, {
              groupId: config.kafka.groupId,
              outputTopic: config.kafka.outputTopic,
              deadLetterTopic: config.kafka.deadLetterTopic,
              transactionTimeoutMs: config.kafka.transactionTimeoutMs,
              maxRequestBytes: limits.requestBytes,
              outputPartitions: () =>
                Promise.all(
                  [config.kafka.outputTopic, config.kafka.deadLetterTopic].map(async (topic) => ({
                    topic,
                    partitions: (await admin.partitionEnds(topic)).map((p) => p.partition),
                  })),
                ),
            }),
            source,
            logger: telemetry.logger,
          })
        : atLeastOnce({
            sink: new AtLeastOnceSink(kafka, {
              outputTopic: config.kafka.outputTopic,
              deadLetterTopic: config.kafka.deadLetterTopic,
              maxRequestBytes: limits.requestBytes,
            }),
          });
    closers.push(() => delivery.sink.close());
    // Chunks are decoded and their events built on the processing threads (each identifies
    // languages itself), or in the process, with languages identified on a thread of their own.
    // Shared by every model (a switch keeps them).
    const threads = processingThreads(config.runtime.processingThreads);
    const work = threads > 0 ? await ThreadPoolChunkWork.start(threads, config.input, { log }) : undefined;
    if (work) closers.push(() => work.close());
    const languages =
      work || config.input.detectLanguage === "off" ? undefined : await ThreadedLanguageIdentifier.start({ log });
    if (languages) closers.push(() => languages.close());
    const counters = new RunCounters();
    telemetry.metrics.track(counters);
    const registryUrl = config.input.schemaRegistry.url;
    const registryInput = isRegistryFormat(config.input.format);
    const avroOutput = config.output.format === "avro";
    const schemas =
      (registryInput || avroOutput) && registryUrl !== undefined
        ? new SchemaCache(
            new SchemaRegistryClient({ ...config.input.schemaRegistry, url: registryUrl }),
            undefined,
            undefined,
            (message) => log(message),
          )
        : undefined;
    let registryUp = true;
    const pipeline = new ChunkPipeline({
      config,
      delivery,
      counters,
      telemetry,
      workerVersion: options.workerVersion,
      limits,
      chunks,
      setReady: (ready) => {
        redisUp = ready;
      },
      ...(schemas
        ? {
            schemas,
            registryInput,
            ...(avroOutput
              ? {
                  avroOutput: {
                    subject: `${config.kafka.outputTopic}-value`,
                    schema: JSON.stringify(sentimentEventAvroSchema()),
                  },
                }
              : {}),
            setSchemaRegistryReady: (ready: boolean) => {
              if (ready && !registryUp) log("the schema registry answers again");
              registryUp = ready;
            },
            onSchemaRegistryUnavailable: (error: Error) => {
              if (registryUp) log(`the schema registry does not answer: ${error.message}`);
            },
          }
        : {}),
      tagging: () => slot.acquire(),
      ...(work ? { work } : {}),
      ...(languages ? { identifyAll: (texts: readonly string[]) => languages.identifyAll(texts) } : {}),
      ...(options.onCommitted ? { onCommitted: options.onCommitted } : {}),
    });
    // The source stops first: its in-flight batches still need the sink, Redis and the model.
    closers.push(() => source.stop());
    await source.start(pipeline);

    let closing: Promise<void> | undefined;
    return {
      source,
      counters,
      model: classifier.model,
      models: { slot, load },
      producer: () => kafka.producer(),
      redisReady: () => redisUp || !dedup || config.dedup.onRedisUnavailable === "bypass",
      modelReady: () => slot.current.classifier.ready,
      schemaRegistryReady: () => (schemas ? registryUp : undefined),
      stop: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** What a record batch costs besides its records (its header), with room to spare. */
const BATCH_OVERHEAD_BYTES = 512;

/**
 * The largest event and dead letter the output topics take, and the produce request size under
 * both: a record over a topic's `max.message.bytes` is refused for ever, which would stop its
 * input partition, so the pipeline dead-letters or cuts such outputs before sending.
 */
async function outputLimits(admin: KafkaAdmin, config: Config): Promise<OutputLimits & { requestBytes: number }> {
  const { outputTopic, deadLetterTopic } = config.kafka;
  const limits = await admin.maxMessageBytes([outputTopic, deadLetterTopic]);
  const eventBytes = (limits.get(outputTopic) ?? 0) - BATCH_OVERHEAD_BYTES;
  const deadLetterBytes = (limits.get(deadLetterTopic) ?? 0) - BATCH_OVERHEAD_BYTES;
  return { eventBytes, deadLetterBytes, requestBytes: Math.min(MAX_REQUEST_BYTES, eventBytes, deadLetterBytes) };
}
