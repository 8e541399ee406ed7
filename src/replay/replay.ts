/**
 * A replay as a program or inside someone's tests or benchmarks: `planReplay` resolves (or reads
 * back) the plan without touching anything, `startReplay` runs it — the same batching, inference,
 * de-duplication, sinks and dead letters as `run` (`startKafkaJob`), fed by the bounded replay
 * reader in the replay's own consumer group. `finished` settles when every partition reached its
 * end; `stop()` finishes the batches in flight (they commit, so a later start resumes after them).
 */

import type { Config } from "../config/index.js";
import { type ReplayRange, ReplaySource } from "../consumers/replay-source.js";
import { SentimentWorkerError } from "../errors/errors.js";
import type { KafkaAdmin } from "../kafka/client.js";
import { connectKafka } from "../kafka/kafkajs-client.js";
import { type KafkaJob, PARTITION_CONCURRENCY, startKafkaJob } from "../pipeline/kafka-job.js";
import { RunCounters } from "../pipeline/run-counters.js";
import { type Log, logTo, startTelemetry, type Telemetry } from "../telemetry/index.js";
import { ReplayProgress } from "./progress.js";
import { forgetReplay, loadPlan, planMetadata, type ReplayPlan, resolvePlan } from "./replay-plan.js";
import { type ReplaySpec, replayGroupId } from "./replay-spec.js";
import { TokenBucket } from "./token-bucket.js";

export interface ReplayOptions {
  workerVersion?: string;
  log?: Log;
  /** Default: one made from `config.telemetry` without the HTTP server, closed by `stop()`. */
  telemetry?: Telemetry;
  /** Forget an earlier run with the same arguments (its plan and progress) and plan again. */
  restart?: boolean;
}

export interface Replay {
  readonly plan: ReplayPlan;
  readonly progress: ReplayProgress;
  readonly counters: RunCounters;
  /** Resolves when every partition reached its end; rejects when the replay cannot go on. */
  readonly finished: Promise<void>;
  /** Finishes the batches in flight and closes everything (call it after `finished` too). */
  stop(): Promise<void>;
}

/** The configuration a replay runs with: its own group, and its output topic. */
export function replayConfig(config: Config, spec: ReplaySpec): Config {
  return {
    ...config,
    kafka: { ...config.kafka, groupId: replayGroupId(config.kafka.groupId, spec), outputTopic: spec.outputTopic },
  };
}

async function withAdmin<T>(config: Config, work: (admin: KafkaAdmin) => Promise<T>) {
  const kafka = await connectKafka(config.kafka);
  try {
    return await work(kafka.admin);
  } finally {
    await kafka.close();
  }
}

/**
 * The plan a replay with these arguments has (stored) or would have (resolved now; `fresh`: as a
 * `--restart` would resolve it); writes nothing.
 */
export function planReplay(config: Config, spec: ReplaySpec, options: { fresh?: boolean } = {}): Promise<ReplayPlan> {
  const groupId = replayGroupId(config.kafka.groupId, spec);
  return withAdmin(config, (admin) =>
    options.fresh ? resolvePlan(admin, groupId, spec) : loadPlan(admin, groupId, spec),
  );
}

export async function startReplay(config: Config, spec: ReplaySpec, options: ReplayOptions = {}): Promise<Replay> {
  const workerVersion = options.workerVersion ?? "dev";
  const jobConfig = replayConfig(config, spec);
  const groupId = jobConfig.kafka.groupId;
  const plan = await withAdmin(config, async (admin) => {
    if (options.restart) await forgetReplay(admin, groupId);
    return loadPlan(admin, groupId, spec);
  });
  const progress = new ReplayProgress(plan.partitions);
  if (plan.partitions.every((p) => p.position >= p.end)) {
    // Nothing left (an empty range, or a finished replay): no model, no group to join.
    return { plan, progress, counters: new RunCounters(), finished: Promise.resolve(), stop: async () => {} };
  }

  const telemetry = options.telemetry ?? (await startTelemetry(config.telemetry, { version: workerVersion }));
  const log = options.log ?? logTo(telemetry.logger);
  let job: KafkaJob<ReplaySource>;
  try {
    job = await startKafkaJob(jobConfig, {
      workerVersion,
      telemetry,
      log,
      // --retag: keys of the replay's own (per plan), so earlier tags are not seen, while a resumed
      // replay and repeated ids within the range still are.
      ...(spec.retag ? { dedupRevision: (revision: string) => `${revision}/retag-${plan.id}` } : {}),
      createSource: ({ member, admin, model, chunkRecords }) => {
        if (plan.modelRevision !== undefined && plan.modelRevision !== model.revision) {
          throw new SentimentWorkerError(
            `replay ${groupId} began with model revision ${plan.modelRevision} and would go on with ${model.revision}: ` +
              "finish it with the same model, or start it again with --restart",
          );
        }
        const ranges: ReplayRange[] = plan.partitions.map((p) => ({
          ...p,
          metadata: planMetadata(plan, p, model.revision),
        }));
        return new ReplaySource(member, admin, {
          groupId,
          topic: spec.topic,
          ranges,
          concurrency: PARTITION_CONCURRENCY,
          chunkRecords,
          storePlan: !plan.stored,
          admission: spec.rate === undefined ? undefined : new TokenBucket(spec.rate),
          onPosition: (partition, position) => progress.advance(partition, position),
          log,
          drainTimeoutMs: config.kafka.drainTimeoutMs,
          heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
        });
      },
    });
  } catch (error) {
    if (!options.telemetry) await telemetry.shutdown();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    plan,
    progress,
    counters: job.counters,
    finished: job.source.finished,
    stop: () => {
      stopping ??= (async () => {
        await job.stop();
        if (!options.telemetry) await telemetry.shutdown();
      })();
      return stopping;
    },
  };
}
