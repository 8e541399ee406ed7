/**
 * A replay as a program or inside someone's tests or benchmarks: `planReplay` resolves (or reads
 * back) the plan without touching anything, `startReplay` runs it — the same batching, inference,
 * de-duplication, sinks and dead letters as `run` (`startKafkaJob`), fed by the bounded replay
 * reader in the replay's own consumer group. Any number of processes may run the same replay at
 * once: they agree on one plan (plan-store.ts) and share its partitions. `finished` settles when
 * every partition reached its end, by whichever process; `stop()` finishes the batches in flight
 * (they commit, so a later start resumes after them).
 */

import type { Config } from "../config/index.js";
import { ReplaySource } from "../consumers/replay-source.js";
import { SentimentWorkerError } from "../errors/errors.js";
import type { KafkaAdmin } from "../kafka/client.js";
import { connectKafka } from "../kafka/kafkajs-client.js";
import { type KafkaJob, PARTITION_CONCURRENCY, startKafkaJob } from "../pipeline/kafka-job.js";
import { RunCounters } from "../pipeline/run-counters.js";
import { type Log, logTo, startTelemetry, type Telemetry } from "../telemetry/index.js";
import { storeOrAdoptPlan } from "./plan-store.js";
import { ReplayProgress } from "./progress.js";
import {
  forgetReplay,
  loadPlan,
  planMetadata,
  type ReplayPlan,
  type RunIdentity,
  readStoredPlan,
  refuseToJoin,
  resolvePlan,
} from "./replay-plan.js";
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
  /** The plan every process of the replay runs (stored by the first of them). */
  readonly plan: ReplayPlan;
  /** The whole replay's progress (every process's commits), and this process's share. */
  readonly progress: ReplayProgress;
  readonly counters: RunCounters;
  /** Resolves when every partition reached its end (by any process); rejects when the replay cannot go on. */
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

/** Stores the new plan unless another process of the replay stored one first; the plan to run. */
async function agreePlan(config: Config, spec: ReplaySpec, plan: ReplayPlan, run: RunIdentity): Promise<ReplayPlan> {
  const kafka = await connectKafka(config.kafka);
  try {
    return await storeOrAdoptPlan(kafka, spec, plan, run, { transactionTimeoutMs: config.kafka.transactionTimeoutMs });
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

/** Another process stored its plan first, and this start's de-duplication keys were made for another. */
class PlanTakenOver extends SentimentWorkerError {
  constructor() {
    super("another process stored the replay's plan first");
  }
}

export async function startReplay(config: Config, spec: ReplaySpec, options: ReplayOptions = {}): Promise<Replay> {
  try {
    return await startReplayOnce(config, spec, options);
  } catch (error) {
    if (!(error instanceof PlanTakenOver)) throw error;
    options.log?.("another process stored the replay's plan first: starting again with its de-duplication keys");
    // The plan is stored now: this start reads it back (and must not forget it again).
    return startReplayOnce(config, spec, { ...options, restart: false });
  }
}

async function startReplayOnce(config: Config, spec: ReplaySpec, options: ReplayOptions): Promise<Replay> {
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
  // The plan all processes run, agreed in the source's start (the model's revision is part of it).
  let agreed: { plan: ReplayPlan; progress: ReplayProgress } | undefined;
  let job: KafkaJob<ReplaySource>;
  try {
    job = await startKafkaJob(jobConfig, {
      workerVersion,
      telemetry,
      log,
      // --retag: keys of the replay's own (per plan), so earlier tags are not seen, while a resumed
      // replay and repeated ids within the range still are. They are made when the model loads,
      // before the plan is agreed: when another process stored its plan first, this start is
      // given up (PlanTakenOver) and made again with the stored plan's keys.
      ...(spec.retag ? { dedupRevision: (revision: string) => `${revision}/retag-${plan.id}` } : {}),
      createSource: ({ member, admin, model, chunkRecords }) => {
        const run: RunIdentity = { modelRevision: model.revision, delivery: config.kafka.delivery };
        if (plan.stored) refuseToJoin(plan, run);
        return new ReplaySource(member, admin, {
          groupId,
          topic: spec.topic,
          plan: async () => {
            const shared = plan.stored ? plan : await agreePlan(config, spec, plan, run);
            refuseToJoin(shared, run);
            if (spec.retag && shared.id !== plan.id) throw new PlanTakenOver();
            agreed = { plan: shared, progress: new ReplayProgress(shared.partitions) };
            return shared.partitions.map((p) => ({ ...p, metadata: planMetadata(shared, p, run) }));
          },
          committed: async () => {
            const current = agreed?.plan;
            let stored: ReplayPlan | undefined;
            try {
              stored = await readStoredPlan(admin, groupId, spec);
            } catch (error) {
              if (error instanceof SentimentWorkerError && !error.retriable) throw error;
              return undefined; // Not known this time (a broker hiccup): the next look tells.
            }
            if (current && stored && stored.id !== current.id) {
              throw new SentimentWorkerError(
                `replay ${groupId} has another plan now (${stored.id}, stored ${stored.plannedAt.toISOString()}; ` +
                  `this process runs ${current.id}): it was started again with --restart, so stop this process`,
              );
            }
            return stored && new Map(stored.partitions.map((p) => [p.partition, p.position]));
          },
          concurrency: PARTITION_CONCURRENCY,
          chunkRecords,
          admission: spec.rate === undefined ? undefined : new TokenBucket(spec.rate),
          onPosition: (partition, position) => agreed?.progress.advance(partition, position),
          onOwnCommit: (partition, offsets) => agreed?.progress.ownCommit(partition, offsets),
          onAssigned: (partitions) => agreed?.progress.assigned(partitions),
          onDeleted: (partition, from, to) => {
            agreed?.progress.deleted(partition, from, to);
            log("records of the replay's range were deleted from the topic before it read them: they are not tagged", {
              topic: spec.topic,
              partition,
              offsets: `${from}-${to - 1n}`,
              count: (to - from).toString(),
              cause: "the topic's retention (retention.ms, retention.bytes) or a deleteRecords",
            });
          },
          log,
          drainTimeoutMs: config.kafka.drainTimeoutMs,
          heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
          chunksInFlight: config.kafka.chunksInFlight,
        });
      },
    });
  } catch (error) {
    if (!options.telemetry) await telemetry.shutdown();
    throw error;
  }
  const shared = agreed ?? { plan, progress: new ReplayProgress(plan.partitions) };
  let stopping: Promise<void> | undefined;
  return {
    plan: shared.plan,
    progress: shared.progress,
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
