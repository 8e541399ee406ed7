/**
 * What the worker tests set up again and again: topics with unique names, the worker's flags for
 * them (tiny model, one ONNX thread, quiet logs, no HTTP server), the worker as a child process,
 * and the tallies a user would check on the output topic.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Config, loadConfig } from "../../src/config/index.js";
import { createTopics } from "../../src/kafka/topics.js";
import type { PartitionOutput } from "../../src/sinks/kafka/partition-sink.js";
import { REPO_ROOT, TINY_MODEL_DIR } from "./fixtures.js";
import type { KafkaTestClient, ReadRecord } from "./kafka.js";
import { uniqueName } from "./names.js";

export const CLI = join(REPO_ROOT, "dist/src/cli/main.js");

export interface WorkerSetup {
  input: string;
  output: string;
  dlq: string;
  /** `run` flags by name, without the leading `--`. */
  flags: Record<string, string>;
}

export interface SetupOptions {
  partitions: number;
  outputPartitions?: number;
  /** Each topic's `max.message.bytes`, when not the broker's default. */
  maxMessageBytes?: { input?: number; output?: number; dlq?: number };
  /** Flags over the defaults. */
  flags?: Record<string, string>;
}

/** The flags of a worker on these topics and services: the tiny model, one thread, quiet. */
export function workerFlags(
  where: { brokers: string; redisUrl: string; input: string; output: string; dlq: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    "input.source": "kafka",
    "kafka.brokers": where.brokers,
    "kafka.inputTopics": where.input,
    "kafka.outputTopic": where.output,
    "kafka.deadLetterTopic": where.dlq,
    "kafka.groupId": uniqueName("worker"),
    "kafka.sessionTimeoutMs": "10000",
    "kafka.heartbeatIntervalMs": "1000",
    "dedup.redisUrl": where.redisUrl,
    "dedup.keyPrefix": `${uniqueName("seen")}:`,
    "model.dir": TINY_MODEL_DIR,
    "runtime.intraOpThreads": "1",
    "batching.maxBatchSize": "8",
    "telemetry.httpPort": "0",
    "telemetry.logLevel": "warn",
    ...extra,
  };
}

/** Input, output and dead-letter topics of unique names, and a worker's flags for them. */
export async function workerSetup(
  client: KafkaTestClient,
  services: { kafkaBrokers: readonly string[]; redisUrl: string },
  options: SetupOptions,
): Promise<WorkerSetup> {
  const configEntries = (bytes?: number) => (bytes ? [{ name: "max.message.bytes", value: String(bytes) }] : []);
  const limits = options.maxMessageBytes ?? {};
  const [input, output, dlq] = [uniqueName("posts"), uniqueName("sentiment"), uniqueName("dead-letters")];
  await createTopics(client.admin, [
    { topic: input, numPartitions: options.partitions, configEntries: configEntries(limits.input) },
    { topic: output, numPartitions: options.outputPartitions ?? 3, configEntries: configEntries(limits.output) },
    { topic: dlq, numPartitions: 1, configEntries: configEntries(limits.dlq) },
  ]);
  const brokers = services.kafkaBrokers.join(",");
  const flags = workerFlags({ brokers, redisUrl: services.redisUrl, input, output, dlq }, options.flags);
  return { input, output, dlq, flags };
}

export const configOf = (s: WorkerSetup, extra: Record<string, string> = {}): Config =>
  loadConfig({ env: {}, flags: { ...s.flags, ...extra } });

/** `run` as a child process with these flags, stderr piped; only PATH in its environment. */
export function spawnWorker(flags: Record<string, string>): ChildProcess {
  const args = Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]);
  return spawn(process.execPath, [CLI, "run", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env.PATH ?? "" },
  });
}

/** Waits until the topic holds at least `atLeast` records (committed or not). */
export async function waitForRecords(
  client: KafkaTestClient,
  topic: string,
  atLeast: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // A new topic's leader can be unknown to the broker answering for a moment: not yet, not failed.
    const ends = await client.admin.fetchTopicOffsets(topic).catch((error: { retriable?: boolean }) => {
      if (error.retriable) return [];
      throw error;
    });
    if (ends.reduce((sum, e) => sum + Number(e.high), 0) >= atLeast) return;
    await sleep(100);
  }
  throw new Error(`fewer than ${atLeast} records reached ${topic}`);
}

/** The ids of the events among the records, in their order. */
export function eventIds(records: readonly ReadRecord[]): string[] {
  return records.map((r) => (JSON.parse(String(r.value)) as { id: string }).id);
}

/** How often each value appears. */
export function countOf(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** How often each event id appears among the records. */
export function idCounts(records: readonly ReadRecord[]): Map<string, number> {
  return countOf(eventIds(records));
}

/** The ids of `expected` seen more than once, and those never seen. */
export function tally(
  counts: Map<string, number>,
  expected: readonly string[],
): { doubled: string[]; missing: string[] } {
  return {
    doubled: [...counts].filter(([, n]) => n > 1).map(([id]) => id),
    missing: expected.filter((id) => !counts.has(id)),
  };
}

/** The exactly-once sink's options for a setup's topics and group. */
export function exactlyOnceSinkOptions(s: WorkerSetup) {
  return {
    groupId: s.flags["kafka.groupId"] as string,
    outputTopic: s.output,
    deadLetterTopic: s.dlq,
    transactionTimeoutMs: 30_000,
  };
}

/** One event for the exactly-once sink to commit with input partition 0's next offset. */
export function eventOutput(s: WorkerSetup, value: string, nextOffset: string): PartitionOutput {
  return {
    topic: s.input,
    partition: 0,
    events: [{ value }],
    deadLetters: [],
    nextOffset,
    commitOffset: async () => {
      throw new Error("the exactly-once sink must not commit offsets outside its transaction");
    },
  };
}
