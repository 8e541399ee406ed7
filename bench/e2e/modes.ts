/**
 * What the end-to-end benchmark runs, one row each: something that consumes the input topic and
 * (mostly) writes to the output topic: the live worker in its two delivery modes, `replay` (a
 * bounded run over the whole topic, `live: false` skips the paced runs, which need an always-on
 * consumer) in this process or as N `sentiment-worker replay` processes sharing one replay, and
 * the raw kafkajs ceilings (`ceilings.ts`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/index.js";
import { startWorker } from "../../src/pipeline/live-worker.js";
import { startReplay } from "../../src/replay/replay.js";
import { parseReplaySpec } from "../../src/replay/replay-spec.js";
import { startTelemetry } from "../../src/telemetry/index.js";
import { BatchTally } from "./batches.js";

export interface RunTopics {
  input: string;
  output: string;
  deadLetter: string;
}

export interface ModeContext {
  brokers: readonly string[];
  redisUrl: string;
  modelDir: string;
  /** ONNX Runtime intra-op threads, as in the inference-only measurement. */
  threads: number;
  topics: RunTopics;
  /** Unique per run: consumer group, transactional ids and de-duplication keys never meet another run's. */
  runId: string;
  /** Extra configuration flags (field path → value), e.g. from `--set`. */
  flags: Readonly<Record<string, string>>;
}

export interface RunningMode {
  /**
   * For a mode that writes nothing (`output: false`): resolves with Date.now() once `count` input
   * messages were consumed, counting from the start.
   */
  consumed?(count: number): Promise<number>;
  /** Finishes and closes everything (the benchmark calls it once every event was read). */
  stop(): Promise<void>;
  /** CPU seconds of the child processes the row runs (counted with this process's). */
  childCpuSeconds?(): number;
  /** The model's batches, where the row runs the worker in this process. */
  batches?: BatchTally;
}

export interface BenchMode {
  /** Row label. */
  name: string;
  /** An always-on consumer, measured at paced rates as well; a bounded run (replay) is not. */
  live: boolean;
  /**
   * Needs the backlog before it starts (replay resolves "now" at start): the clock then runs from
   * the start, start-up included. The others start on an empty topic and get the backlog when ready.
   */
  backlogFirst: boolean;
  /** Writes one output record per input record, read by the probe; else `consumed` says when it is done. */
  output: boolean;
  /** Starts consuming `topics.input` from its beginning; resolves when consumption begins. */
  start(context: ModeContext): Promise<RunningMode>;
}

/** The worker's configuration for a run, as a user would set it (tests build theirs the same way). */
export function workerFlags(context: ModeContext, delivery: "exactly-once" | "at-least-once"): Record<string, string> {
  return {
    "input.source": "kafka",
    "kafka.brokers": context.brokers.join(","),
    "kafka.inputTopics": context.topics.input,
    "kafka.outputTopic": context.topics.output,
    "kafka.deadLetterTopic": context.topics.deadLetter,
    "kafka.groupId": `sw-e2e-${context.runId}`,
    "kafka.delivery": delivery,
    "dedup.enabled": "true",
    "dedup.redisUrl": context.redisUrl,
    "dedup.keyPrefix": `sw-e2e:${context.runId}:`,
    // The keys are of no use after the run.
    "dedup.ttlSeconds": "900",
    "model.dir": context.modelDir,
    "runtime.intraOpThreads": String(context.threads),
    // No HTTP server: runs follow each other, and other processes may hold the default port.
    "telemetry.httpPort": "0",
    "telemetry.logLevel": "warn",
    ...context.flags,
  };
}

function workerMode(delivery: "exactly-once" | "at-least-once"): BenchMode {
  return {
    name: `worker, ${delivery}`,
    live: true,
    backlogFirst: false,
    output: true,
    async start(context) {
      const config = loadConfig({ env: {}, flags: workerFlags(context, delivery) });
      const telemetry = await startTelemetry(config.telemetry, { version: "bench" });
      // The batcher reports each batch to the metrics: counted here as well.
      const batches = new BatchTally();
      const record = telemetry.metrics.recordBatch.bind(telemetry.metrics);
      telemetry.metrics.recordBatch = (stats) => {
        batches.add(stats);
        record(stats);
      };
      const worker = await startWorker(config, { fromBeginning: true, telemetry });
      return {
        batches,
        async stop() {
          await worker.stop();
          await telemetry.shutdown();
        },
      };
    },
  };
}

/** `sentiment-worker replay --from earliest --to now` over the pre-loaded backlog. */
function replayMode(delivery: "exactly-once" | "at-least-once"): BenchMode {
  return {
    name: `replay, ${delivery}`,
    live: false,
    backlogFirst: true,
    output: true,
    async start(context) {
      const config = loadConfig({ env: {}, flags: workerFlags(context, delivery) });
      const spec = parseReplaySpec({ topic: context.topics.input, from: "earliest", to: "now" }, config);
      const replay = await startReplay(config, spec, { workerVersion: "bench" });
      return { stop: () => replay.stop() };
    },
  };
}

const cli = join(import.meta.dirname, "../../src/cli/main.js");

/** utime + stime of a live process, in seconds (/proc, Linux); undefined once it is gone. */
function cpuOf(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * `sentiment-worker replay --from earliest --to now` as `n` processes of the command with the same
 * arguments (issue #25): they share the replay's plan and split its partitions. The clock runs from
 * their start (model load and joins in the figure); their CPU is sampled until they exit.
 */
function replayProcessesMode(n: number, delivery: "exactly-once" | "at-least-once"): BenchMode {
  return {
    name: `replay ×${n} process${n > 1 ? "es" : ""}, ${delivery}`,
    live: false,
    backlogFirst: true,
    output: true,
    async start(context) {
      const flags = Object.entries(workerFlags(context, delivery)).flatMap(([k, v]) => [`--${k}`, v]);
      const args = ["replay", "--topic", context.topics.input, "--from", "earliest", "--to", "now"];
      const children: ChildProcess[] = [];
      const cpu: number[] = [];
      const stderr: string[] = [];
      for (let i = 0; i < n; i++) {
        const child = spawn(process.execPath, [cli, ...args, "--progress-interval", "3600", ...flags], {
          stdio: ["ignore", "ignore", "pipe"],
        });
        child.stderr?.on("data", (d: Buffer) => {
          stderr[i] = `${stderr[i] ?? ""}${d}`.slice(-4000);
        });
        children.push(child);
      }
      const sample = () => {
        children.forEach((c, i) => {
          cpu[i] = cpuOf(c.pid) ?? cpu[i] ?? 0;
        });
      };
      const sampler = setInterval(sample, 100);
      const exited = children.map(
        (c) => new Promise<number | null>((resolve) => c.once("exit", (code) => resolve(code))),
      );
      return {
        childCpuSeconds: () => {
          sample();
          return cpu.reduce((a, b) => a + b, 0);
        },
        async stop() {
          // Each exits by itself once the whole replay is done (every event was read by now).
          const late = setTimeout(() => {
            for (const c of children) c.kill("SIGTERM");
          }, 60_000);
          const codes = await Promise.all(exited);
          clearTimeout(late);
          clearInterval(sampler);
          const failed = codes.flatMap((code, i) =>
            code === 0 ? [] : [`process ${i + 1} exited ${code}: ${stderr[i]}`],
          );
          if (failed.length > 0) throw new Error(failed.join("\n"));
        },
      };
    },
  };
}

/** By the name used in `--modes`. */
export const MODES: Readonly<Record<string, BenchMode>> = {
  "exactly-once": workerMode("exactly-once"),
  "at-least-once": workerMode("at-least-once"),
  "replay-exactly-once": replayMode("exactly-once"),
  "replay-at-least-once": replayMode("at-least-once"),
  "replay-processes-1": replayProcessesMode(1, "exactly-once"),
  "replay-processes-2": replayProcessesMode(2, "exactly-once"),
};
