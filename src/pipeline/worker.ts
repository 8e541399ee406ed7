/**
 * The live worker, as a program or inside someone's tests: `startWorker(config)` resolves once
 * the model is loaded, the output topics exist and the consumer has joined its group; `stop()`
 * finishes or abandons in-flight batches cleanly, then closes everything.
 */
import { Kafka } from "kafkajs";
import type { Config } from "../config/index.js";
import { KafkaSource } from "../consumers/kafka-source.js";
import { RedisDeduplicator } from "../dedup/redis-dedup.js";
import { ModelError } from "../errors/errors.js";
import { SENTIMENT_LABELS } from "../events/sentiment-event.js";
import { SentimentClassifier } from "../inference/classifier.js";
import { kafkaClientConfig } from "../kafka/client-config.js";
import { ensureTopics } from "../kafka/topics.js";
import { AtLeastOnceSink } from "../sinks/kafka/at-least-once-sink.js";
import { ExactlyOnceSink } from "../sinks/kafka/exactly-once-sink.js";
import type { PartitionSink } from "../sinks/kafka/partition-sink.js";
import { KafkaPipeline } from "./kafka-pipeline.js";
import { RunCounters } from "./run-counters.js";

export interface Worker {
  readonly counters: RunCounters;
  /** Model loaded, in the group, Redis answering (or bypassed). */
  isReady(): boolean;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  workerVersion?: string;
  log?: (message: string) => void;
  /** Read the input topics from the beginning when the group has no committed offset (default true). */
  fromBeginning?: boolean;
}

/** The model's labels must be the three of `sentiment.v1`. */
export function checkSentimentLabels(labels: readonly string[]): void {
  if ([...labels].sort().join() !== [...SENTIMENT_LABELS].sort().join()) {
    throw new ModelError(
      `sentiment.v1 events need the labels ${SENTIMENT_LABELS.join(", ")}; the model has ${labels.join(", ")}`,
    );
  }
}

export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<Worker> {
  const log = options.log ?? (() => {});
  const classifier = await SentimentClassifier.load({
    model: config.model,
    batching: config.batching,
    runtime: config.runtime,
    log,
  });
  checkSentimentLabels(classifier.model.labels);
  let redisUp = true;
  const dedup = config.dedup.enabled
    ? RedisDeduplicator.fromConfig(config, classifier.model.revision, {
        onAvailabilityChange: (up) => {
          redisUp = up;
          log(`Redis ${up ? "answers again" : "does not answer"}`);
        },
      })
    : undefined;

  const kafka = new Kafka(kafkaClientConfig(config.kafka));
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    [
      { topic: config.kafka.outputTopic, field: "kafka.outputTopic" },
      { topic: config.kafka.deadLetterTopic, field: "kafka.deadLetterTopic" },
    ],
    config.kafka.createTopics,
  );
  const consumer = kafka.consumer({
    groupId: config.kafka.groupId,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    heartbeatInterval: config.kafka.heartbeatIntervalMs,
    // Outputs of aborted transactions upstream are not input.
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  const source = new KafkaSource(consumer, admin, {
    groupId: config.kafka.groupId,
    topics: config.kafka.inputTopics,
    pattern: config.kafka.inputPattern,
    // Enough partitions at once to fill a batch; each holds at most one fetch in memory.
    concurrency: 8,
    fromBeginning: options.fromBeginning ?? true,
  });
  const sink: PartitionSink =
    config.kafka.delivery === "exactly-once"
      ? new ExactlyOnceSink(kafka, {
          groupId: config.kafka.groupId,
          outputTopic: config.kafka.outputTopic,
          deadLetterTopic: config.kafka.deadLetterTopic,
          transactionTimeoutMs: config.kafka.transactionTimeoutMs,
        })
      : new AtLeastOnceSink(kafka, {
          outputTopic: config.kafka.outputTopic,
          deadLetterTopic: config.kafka.deadLetterTopic,
          commitOffset: (topic, partition, next) => source.commitOffset({ topic, partition }, next),
        });
  const counters = new RunCounters();
  const pipeline = new KafkaPipeline({
    config,
    classifier,
    dedup,
    sink,
    source,
    counters,
    workerVersion: options.workerVersion ?? "dev",
    setReady: (ready) => {
      redisUp = ready;
    },
  });
  await source.start(pipeline);
  log(
    `consuming ${[...config.kafka.inputTopics, config.kafka.inputPattern ?? ""].filter(Boolean).join(", ")} as ${config.kafka.groupId}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    counters,
    isReady: () => stopping === undefined && (redisUp || config.dedup.onRedisUnavailable === "bypass"),
    stop: () => {
      stopping ??= (async () => {
        await source.stop();
        await sink.close();
        await admin.disconnect();
        await dedup?.close();
        await classifier.close();
      })();
      return stopping;
    },
  };
}
