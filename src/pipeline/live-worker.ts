/**
 * The live worker, as a program or inside someone's tests: `startWorker(config)` resolves once
 * the model is loaded, the output topics exist and the consumer has joined its group; `stop()`
 * finishes or abandons in-flight batches cleanly, then closes everything.
 */
import type { Config } from "../config/index.js";
import { GroupSource } from "../consumers/group-source.js";
import type { Rollout } from "../rollout/rollout.js";
import { startRollout } from "../rollout/start-rollout.js";
import { type Log, logTo, startTelemetry, type Telemetry } from "../telemetry/index.js";
import { PARTITION_CONCURRENCY, startKafkaJob, type Tagging } from "./kafka-job.js";
import type { RunCounters } from "./run-counters.js";

export interface Worker {
  readonly counters: RunCounters;
  /** Model loaded, in the group, Redis answering (or bypassed). */
  isReady(): boolean;
  /** Each readiness check by name (what `/readyz` shows). */
  readiness(): Record<string, boolean>;
  /** Rejects if the consumer died for good (the client gave up); the process should exit then. */
  readonly failed: Promise<never>;
  /** Shadow a candidate model, switch the model, roll back (docs/rollout.md). */
  readonly rollout: Rollout<Tagging>;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  workerVersion?: string;
  /** Where log lines go; default: the telemetry's JSON logger. */
  log?: Log;
  /**
   * Telemetry to report to (the CLI passes the one whose HTTP server already answers probes).
   * Default: one made from `config.telemetry` without the HTTP server, closed by `stop()`.
   */
  telemetry?: Telemetry;
  /** Read the input topics from the beginning when the group has no committed offset (default true). */
  fromBeginning?: boolean;
}

export async function startWorker(config: Config, options: WorkerOptions = {}): Promise<Worker> {
  const workerVersion = options.workerVersion ?? "dev";
  const telemetry = options.telemetry ?? (await startTelemetry(config.telemetry, { version: workerVersion }));
  const log = options.log ?? logTo(telemetry.logger);
  // A failed start must not leave our own telemetry (and an OTLP export timer) behind.
  const ownTelemetry = options.telemetry ? undefined : telemetry;
  let rollout: Rollout<Tagging> | undefined;
  const job = await startKafkaJob(config, {
    onCommitted: () => rollout?.offer,
    workerVersion,
    telemetry,
    log,
    inputTopics: config.kafka.inputTopics.map((topic) => ({ topic, field: "kafka.inputTopics" })),
    createSource: ({ member, admin, chunkRecords }) =>
      new GroupSource(member, admin, {
        groupId: config.kafka.groupId,
        topics: config.kafka.inputTopics,
        pattern: config.kafka.inputPattern,
        concurrency: PARTITION_CONCURRENCY,
        chunkRecords,
        fromBeginning: options.fromBeginning ?? true,
        drainTimeoutMs: config.kafka.drainTimeoutMs,
        heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
        chunksInFlight: config.kafka.chunksInFlight,
        sessionTimeoutMs: config.kafka.sessionTimeoutMs,
        log,
      }),
  }).catch(async (error: unknown) => {
    await ownTelemetry?.shutdown();
    throw error;
  });
  rollout = await startRollout(config, job, telemetry);
  const { source, counters } = job;
  log("consuming", {
    topics: config.kafka.inputTopics,
    ...(config.kafka.inputPattern ? { pattern: config.kafka.inputPattern } : {}),
    groupId: config.kafka.groupId,
  });

  let stopping: Promise<void> | undefined;
  const readiness = (): Record<string, boolean> => {
    const registry = job.schemaRegistryReady();
    return {
      model: job.modelReady(),
      consumer: source.inGroup && stopping === undefined,
      redis: job.redisReady(),
      // Only with a registry format (input.format avro, protobuf, json-schema).
      ...(registry === undefined ? {} : { schemaRegistry: registry }),
    };
  };
  telemetry.setReadiness(readiness);
  return {
    counters,
    readiness,
    isReady: () => Object.values(readiness()).every(Boolean),
    failed: source.failed,
    rollout,
    stop: () => {
      stopping ??= (async () => {
        await rollout?.close();
        await job.stop();
        await ownTelemetry?.shutdown();
      })();
      return stopping;
    },
  };
}
