/**
 * End-to-end benchmark (issues #4 and #12): the live worker on the local broker and Redis, against
 * raw kafkajs ceilings and the inference-only figure measured in the same run.
 *
 *   export $(node scripts/services.mjs up)
 *   npm run bench -- e2e --data path/to/umsab/test.jsonl [--quick]
 *
 * Rows, each run `--repeat` times, interleaved (every row once, then again), medians quoted with
 * the range of the repeats beside them:
 * - the raw kafkajs ceilings (`e2e/ceilings.ts`): consume; consume + JSON.parse; consume +
 *   idempotent produce + commit; consume + one transaction per fetched partition batch;
 * - the worker (`startWorker`, in-process) exactly-once and at-least-once, de-duplication on, per
 *   model: the full-size fixture, the tiny fixture, `noop` (a no-op ONNX graph with the tiny
 *   tokenizer: Kafka, Redis, tokenizing, batching alone) and `sim` (simulated accelerators, a
 *   fixed 20 ms and 5 ms per batch of ≤ 256 posts, exactly-once; `e2e/simulated.ts`);
 * - with `--modes replay-…`, `replay --from earliest --to now` over the same backlog
 *   (`replay-processes-1`, `replay-processes-2`: as one or two `replay` processes of the command,
 *   sharing the replay; their CPU counted as the row's).
 * Backlog run: a fresh topic (6 partitions, keys spread); the row started on it and warmed up
 * (a few messages per partition, until their output is read), so start-up is not in the figure
 * (reported apart); then the backlog is produced inside one transaction and committed at once,
 * which makes it visible to the read_committed consumers in one go. Throughput = N ÷ (commit → last
 * output read by a read_committed reader in a thread of its own, or last input consumed for the
 * ceilings that write nothing). CPU per message over that window: this process's every thread
 * but the reader's (the worker: its JS thread, inference thread, clients), its main thread alone,
 * and the broker and Redis by process id. Replay needs its backlog first: its clock runs from its
 * start. Latency (`--rates`): the worker running, a producer paced at fractions of the measured
 * throughput; record timestamp → event read, p50/p95/p99. Inference only: `classifyAll` on the
 * same texts (what the inference benchmark calls "ours"), and its CPU a message beside end to
 * end's (process, broker and Redis), whose ratio bounds end to end where the model uses every core;
 * measured before each repeat and once after the last, each end-to-end run compared with the mean
 * of the two around it; and the batches of both (how many, posts per batch, padded ÷ real tokens).
 *
 * Flags (environment in brackets): --data FILE [SW_BENCH_DATA] JSONL with a "text" field (never
 * committed); --quick (12,000 messages, 2 repeats, no inference-only runs: under 3 minutes);
 * --models noop,sim (also full, tiny); --modes exactly-once,at-least-once (the names in
 * `e2e/modes.ts`); --ceilings consume,parse,produce,transactions (`none` skips them);
 * --messages N (full model, default 512); --plumbing-messages N (the other rows, default 60000);
 * --inference-only yes|no (default yes; no with --quick); --rates 1,0.5 (default none: no paced
 * runs); --latency-seconds S (default 20); --repeat N (default 3); --threads N (ONNX Runtime,
 * default 2); --partitions N (default 6); --sim-batch-ms MS,... (20,5: a row each); --sim-batch-size N (256);
 * --model-dir DIR (default .cache/models/full-random); --tiny-model-dir DIR; --set path=value,...
 * (extra worker configuration); --profile DIR (the main thread's CPU profile over each backlog
 * window, written to DIR and summed by what it did); --broker-pid / --redis-pid (default: from scripts/services.mjs's
 * state). Brokers and Redis from KAFKA_BROKERS and REDIS_URL. Prints Markdown tables; the raw
 * figures go to .cache/bench/.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/index.js";
import { SentimentClassifier } from "../src/inference/classifier.js";
import { Kafka, logLevel } from "../src/kafka/kafkajs.js";
import { createTopics } from "../src/kafka/topics.js";
import { nullModelDir } from "../test/helpers/model-graphs.js";
import { seededShuffle } from "../test/helpers/random.js";
import { BatchTally } from "./e2e/batches.js";
import { ceilingModes } from "./e2e/ceilings.js";
import { type CpuSplit, cpuWindow } from "./e2e/cpu.js";
import { startMainProfile, summariseProfile, writeProfile } from "./e2e/main-profile.js";
import { type BenchMode, MODES, type ModeContext, type RunTopics } from "./e2e/modes.js";
import { servicePids } from "./e2e/pids.js";
import { inputMessage, Probe, type ProbeJob, type ProbeResult } from "./e2e/probe.js";
import { reportTables } from "./e2e/report.js";
import type { Checked, InferenceOnlyRun, LatencyRun, ModelChoice, Row, RowSpec, ThroughputRun } from "./e2e/rows.js";
import { type DeviceRun, sampleDevice, simulatedModelDir } from "./e2e/simulated.js";
import { fmt, median, percentiles } from "./stats.js";

const root = resolve(import.meta.dirname, "../..");
const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: process.env.SW_BENCH_DATA },
    quick: { type: "boolean", default: false },
    "model-dir": { type: "string", default: join(root, ".cache/models/full-random") },
    "tiny-model-dir": { type: "string", default: join(root, "test/fixtures/models/tiny") },
    models: { type: "string", default: "noop,sim" },
    modes: { type: "string", default: "exactly-once,at-least-once" },
    ceilings: { type: "string", default: "consume,parse,produce,transactions" },
    messages: { type: "string", default: "512" },
    "plumbing-messages": { type: "string" },
    "inference-only": { type: "string" },
    "latency-seconds": { type: "string", default: "20" },
    rates: { type: "string", default: "none" },
    repeat: { type: "string" },
    threads: { type: "string", default: "2" },
    partitions: { type: "string", default: "6" },
    "sim-batch-ms": { type: "string", default: "20,5" },
    "sim-batch-size": { type: "string", default: "256" },
    set: { type: "string", default: "" },
    "broker-pid": { type: "string" },
    "redis-pid": { type: "string" },
    profile: { type: "string" },
  },
});
if (!args.data) throw new Error("pass --data <jsonl> (or SW_BENCH_DATA), e.g. path/to/umsab/test.jsonl");
const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter(Boolean);
const redisUrl = process.env.REDIS_URL ?? "";
if (!brokers.length || !redisUrl)
  throw new Error("set KAFKA_BROKERS and REDIS_URL: export $(node scripts/services.mjs up)");

// --quick changes the defaults only; a flag given still wins.
const quick = args.quick === true;
const repeat = Number(args.repeat ?? (quick ? 2 : 3));
const plumbingMessages = Number(args["plumbing-messages"] ?? (quick ? 12_000 : 60_000));
const withInferenceOnly = (args["inference-only"] ?? (quick ? "no" : "yes")) === "yes";
const threads = Number(args.threads);
const partitions = Number(args.partitions);
const latencySeconds = Number(args["latency-seconds"]);
const rates = args.rates === "none" ? [] : (args.rates as string).split(",").map(Number);
const simBatchMs = (args["sim-batch-ms"] as string).split(",").map(Number);
const simBatchSize = Number(args["sim-batch-size"]);
const extraFlags = Object.fromEntries(
  (args.set as string)
    .split(",")
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);
const byName = (names: string, known: Readonly<Record<string, BenchMode>>, what: string): [string, BenchMode][] =>
  names === "none"
    ? []
    : names.split(",").map((name) => {
        const mode = known[name];
        if (!mode) throw new Error(`unknown ${what} ${name}; known: ${Object.keys(known).join(", ")}`);
        return [name, mode];
      });
const modes = byName(args.modes as string, MODES, "mode");
const ceilings = byName(args.ceilings as string, ceilingModes(partitions), "ceiling");
const pids = servicePids(root, brokers, redisUrl, { broker: args["broker-pid"], redis: args["redis-pid"] });
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

const wanted = (args.models as string).split(",");
const tinyDir = resolve(args["tiny-model-dir"] as string);
// The temporary model directories are made only when asked for.
const MODELS: ModelChoice[] = [
  {
    key: "full",
    label: "full-size",
    dir: resolve(args["model-dir"] as string),
    messages: Number(args.messages),
    flags: {},
  },
  { key: "tiny", label: "tiny fixture", dir: tinyDir, messages: plumbingMessages, flags: {} },
  {
    key: "noop",
    label: "no-op model",
    dir: wanted.includes("noop") ? nullModelDir(tinyDir) : "",
    messages: plumbingMessages,
    flags: {},
  },
  ...simBatchMs.map(
    (batchMs): ModelChoice => ({
      key: "sim",
      label: `simulated accelerator (${batchMs} ms per batch ≤ ${simBatchSize})`,
      dir: wanted.includes("sim") ? simulatedModelDir(tinyDir, batchMs, simBatchSize) : "",
      messages: plumbingMessages,
      device: { batchMs, batchSize: simBatchSize },
      // What a GPU user sets: batches of the device's size, a token cap that never binds first, and
      // no padding limit (a batch costs the same however padded).
      flags: {
        "batching.maxBatchSize": String(simBatchSize),
        "batching.maxBatchTokens": String(simBatchSize * 512),
        "batching.minFillRatio": "0",
      },
      modes: ["exactly-once"],
    }),
  ),
];
const models = MODELS.filter((m) => wanted.includes(m.key));

/** The inference benchmark's seeded sample (same seed), repeated when more messages than texts are asked for. */
function textsFor(all: string[], count: number): string[] {
  const sampled = seededShuffle(all, 20261127).slice(0, Math.min(count, all.length));
  return Array.from({ length: count }, (_, i) => sampled[i % sampled.length] as string);
}

const kafka = new Kafka({ brokers, clientId: "sw-e2e-bench", logLevel: logLevel.NOTHING });
const admin = kafka.admin();

async function freshTopics(runId: string): Promise<RunTopics> {
  const topics = {
    input: `e2e-posts-${runId}`,
    output: `e2e-sentiment-${runId}`,
    deadLetter: `e2e-dead-letters-${runId}`,
  };
  await createTopics(admin, [
    { topic: topics.input, numPartitions: partitions },
    { topic: topics.output, numPartitions: partitions },
    { topic: topics.deadLetter, numPartitions: 1 },
  ]);
  return topics;
}

async function dropTopics(topics: RunTopics): Promise<void> {
  // Only to keep the broker's disk small; a failure changes no figure.
  await admin.deleteTopics({ topics: [topics.input, topics.output, topics.deadLetter] }).catch(() => {});
}

const KEYS = 1000;
const WARMUP = partitions * 4;
const newRunId = () => `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;

const messagesOf = (texts: string[], idPrefix: string, from: number, roundRobin: boolean) =>
  texts.map((text, j) => ({
    ...inputMessage(`${idPrefix}${from + j}`, text, `user-${(from + j) % KEYS}`),
    ...(roundRobin ? { partition: (from + j) % partitions } : {}),
  }));

/** Produces the texts as input messages; `roundRobin` puts message i on partition i mod partitions. */
async function produce(topic: string, texts: string[], idPrefix: string, roundRobin = false): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < texts.length; i += 1000)
      await producer.send({ topic, messages: messagesOf(texts.slice(i, i + 1000), idPrefix, i, roundRobin) });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Produces the texts inside one open transaction; the returned function commits it. Until then a
 * read_committed consumer sees none of it, after it all: a backlog that appears at once.
 */
async function stagedBacklog(topic: string, texts: string[], runId: string): Promise<() => Promise<void>> {
  const producer = kafka.producer({
    transactionalId: `sw-e2e-backlog-${runId}`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 300_000,
  });
  await producer.connect();
  const transaction = await producer.transaction();
  for (let i = 0; i < texts.length; i += 1000)
    await transaction.send({ topic, messages: messagesOf(texts.slice(i, i + 1000), "m-", i, false) });
  return async () => {
    await transaction.commit();
    await producer.disconnect();
  };
}

function context(model: ModelChoice | undefined, topics: RunTopics, runId: string): ModeContext {
  return {
    brokers,
    redisUrl,
    modelDir: model?.dir ?? "",
    threads,
    topics,
    runId,
    flags: { ...model?.flags, ...extraFlags },
  };
}

/** Waits for the probe, ending it after `timeoutMs`; checks that every event came exactly once. */
async function finish(probe: Probe, expected: number, timeoutMs: number, what: string): Promise<ProbeResult> {
  const timer = setTimeout(() => probe.stop(), timeoutMs);
  const result = await probe.done;
  clearTimeout(timer);
  if (result.timedOut) log(`${what}: timed out after ${timeoutMs / 1000} s with ${result.count}/${expected} events`);
  else if (result.count !== expected || result.distinct !== expected)
    log(`${what}: ${result.count} events, ${result.distinct} distinct ids, ${expected} expected`);
  return result;
}

// ---- measurements --------------------------------------------------------------------------

/**
 * `classifyAll` on the texts with the worker's own configuration: the most the worker could do, and
 * the CPU it took a message (this process's every thread: the inference and tokenizer threads).
 */
async function inferenceOnly(model: ModelChoice, texts: string[]): Promise<InferenceOnlyRun> {
  const config = loadConfig({
    env: {},
    flags: { "model.dir": model.dir, "runtime.intraOpThreads": String(threads), ...model.flags, ...extraFlags },
  });
  const batches = new BatchTally();
  const classifier = await SentimentClassifier.load({
    model: config.model,
    batching: config.batching,
    runtime: config.runtime,
    onBatch: batches.add,
  });
  await classifier.classifyAll(texts.slice(0, 64));
  batches.reset();
  const endCpu = cpuWindow();
  await classifier.classifyAll(texts);
  const cpu = endCpu();
  const summary = batches.summary();
  await classifier.close();
  const perMessage = (cpuSeconds: number) => (1e6 * cpuSeconds) / texts.length;
  return {
    messagesPerSecond: texts.length / cpu.wallSeconds,
    cpuMicrosPerMessage: perMessage(cpu.process),
    threads: Object.fromEntries(Object.entries(cpu.threads).map(([name, sec]) => [name, perMessage(sec)])),
    ...(summary ? { batches: summary } : {}),
  };
}

/** One backlog run of a row (see the header). */
async function throughput(row: RowSpec, texts: string[]): Promise<ThroughputRun> {
  const { mode, model } = row;
  const runId = newRunId();
  const topics = await freshTopics(runId);
  const warmup = mode.backlogFirst ? 0 : WARMUP;
  if (mode.backlogFirst) await produce(topics.input, texts, "m-");
  const probe = mode.output
    ? new Probe({ brokers, outputTopic: topics.output, expected: warmup + texts.length, warmupPrefix: "warm-", warmup })
    : undefined;
  await probe?.ready;
  const begun = performance.now();
  const endBacklogFirstCpu = mode.backlogFirst ? cpuWindow(pids) : undefined;
  const startedAt = Date.now();
  const running = await mode.start(context(model, topics, runId));
  const startSeconds = (performance.now() - begun) / 1000;
  let readySeconds = startSeconds;
  let t0 = startedAt;
  let endCpu = endBacklogFirstCpu;
  let endDevice: (() => DeviceRun) | undefined;
  let stopProfile: (() => ReturnType<Awaited<ReturnType<typeof startMainProfile>>>) | undefined;
  if (!mode.backlogFirst) {
    await produce(topics.input, texts.slice(0, warmup), "warm-", true);
    await (probe ? probe.warm : running.consumed?.(warmup));
    readySeconds = (performance.now() - begun) / 1000;
    const commit = await stagedBacklog(topics.input, texts, runId);
    if (model?.key === "sim") endDevice = sampleDevice(texts.length);
    endCpu = cpuWindow(pids);
    if (args.profile) stopProfile = await startMainProfile();
    running.batches?.reset();
    probe?.go();
    t0 = Date.now();
    await commit();
  }
  const what = `${row.label} backlog`;
  let lastAt: number;
  let checked: Checked;
  let readerCpu = 0;
  if (probe) {
    const result = await finish(probe, warmup + texts.length, 900_000, what);
    lastAt = result.lastAt;
    readerCpu = result.cpuSeconds;
    checked = { events: result.count - warmup, distinct: result.distinct - warmup, expected: texts.length };
  } else {
    lastAt = await (running.consumed?.(warmup + texts.length) ?? Promise.resolve(Number.NaN));
    // Consumed, not produced: nothing to repeat or lose.
    checked = { events: texts.length, distinct: texts.length, expected: texts.length };
  }
  const cpu = (endCpu as () => CpuSplit)();
  // Rows that run child processes (replay ×N): their CPU is the row's too.
  cpu.process += running.childCpuSeconds?.() ?? 0;
  if (stopProfile && args.profile) {
    const profile = await stopProfile();
    const file = writeProfile(args.profile, row.label, profile);
    const lines = summariseProfile(profile).map((c) => `  ${fmt(100 * c.share, 1).padStart(5)}%  ${c.category}`);
    process.stderr.write(
      `bench: main thread of ${row.label}, its busy time by what it did (${file}):\n${lines.join("\n")}\n`,
    );
  }
  const device = endDevice?.();
  const batches = running.batches?.summary();
  await running.stop();
  await dropTopics(topics);
  const seconds = (lastAt - t0) / 1000;
  return {
    messagesPerSecond: checked.events / seconds,
    seconds,
    startSeconds,
    readySeconds,
    cpu,
    readerCpu,
    ...(device ? { device } : {}),
    ...(batches ? { batches } : {}),
    ...checked,
  };
}

/** The worker running; a producer paced at `rate` for `latencySeconds`; record timestamp → event read. */
async function latency(row: RowSpec, texts: string[], rate: number): Promise<LatencyRun> {
  const runId = newRunId();
  const topics = await freshTopics(runId);
  const count = Math.max(50, Math.round(rate * latencySeconds));
  // A few per partition, so each partition's first batch (transactional id, fencing) is behind us.
  const probe = new Probe({
    brokers,
    outputTopic: topics.output,
    expected: WARMUP + count,
    warmupPrefix: "warm-",
    warmup: WARMUP,
    pace: { inputTopic: topics.input, texts, idPrefix: "m-", rate, count, keys: KEYS },
  } satisfies ProbeJob);
  await probe.ready;
  await produce(topics.input, texts.slice(0, WARMUP), "warm-", true);
  const running = await row.mode.start(context(row.model, topics, runId));
  await probe.warm;
  probe.go();
  const result = await finish(
    probe,
    WARMUP + count,
    120_000 + (3000 * count) / rate,
    `${row.label} at ${rate.toFixed(1)}/s`,
  );
  await running.stop();
  await dropTopics(topics);
  const [p50, p95, p99, max] = percentiles(result.latenciesMs, [0.5, 0.95, 0.99, 1]);
  return {
    rate,
    producedRate: result.producedRate,
    p50: p50 as number,
    p95: p95 as number,
    p99: p99 as number,
    max: max as number,
    samples: result.latenciesMs.length,
    events: result.count,
    distinct: result.distinct,
    expected: WARMUP + count,
  };
}

// ---- main ----------------------------------------------------------------------------------

const all = readFileSync(args.data, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => (JSON.parse(l) as { text: string }).text);
await admin.connect();

const CEILING_OF: Record<string, string> = {
  "exactly-once": "transactions",
  "replay-exactly-once": "transactions",
  "at-least-once": "produce",
  "replay-at-least-once": "produce",
  "replay-processes-1": "transactions",
  "replay-processes-2": "transactions",
};
const ceilingRows: Row[] = ceilings.map(([name, mode]) => ({
  label: mode.name,
  mode,
  messages: plumbingMessages,
  ceiling: name,
  throughput: [],
  latency: new Map(),
}));
const workerRows: Row[] = models.flatMap((model) =>
  modes
    .filter(([name]) => !model.modes || model.modes.includes(name))
    .map(([name, mode]) => {
      const ceiling = CEILING_OF[name];
      return {
        label: `${mode.name}, ${model.label}`,
        mode,
        model,
        messages: model.messages,
        ...(ceiling ? { ceiling } : {}),
        throughput: [],
        latency: new Map(),
      };
    }),
);
const rows = [...ceilingRows, ...workerRows];
const textsOf = new Map<number, string[]>();
const textsForRow = (row: RowSpec) => {
  if (!textsOf.has(row.messages)) textsOf.set(row.messages, textsFor(all, row.messages));
  return textsOf.get(row.messages) as string[];
};
const inference = new Map<string, InferenceOnlyRun[]>();
const inferenceModels = withInferenceOnly ? models.filter((m) => m.key !== "sim") : [];

const measureInferenceOnly = async () => {
  for (const model of inferenceModels) {
    const run = await inferenceOnly(model, textsFor(all, model.messages));
    inference.set(model.key, [...(inference.get(model.key) ?? []), run]);
    log(
      `${model.key} inference only: ${run.messagesPerSecond.toFixed(1)} msg/s, ${run.cpuMicrosPerMessage.toFixed(0)} µs CPU a message`,
    );
  }
};
// Interleaved: every row once per repeat, so drift on a shared machine spreads over every row.
// Inference only before each repeat and once after the last: each end-to-end run is compared with
// the mean of the two around it (this machine's speed moved by up to 30% within minutes).
for (let r = 0; r < repeat; r++) {
  await measureInferenceOnly();
  for (const row of rows) {
    const run = await throughput(row, textsForRow(row));
    row.throughput.push(run);
    const spec = row.model?.device;
    const device =
      run.device && spec
        ? `, ${fmt(run.messagesPerSecond / ((1000 * spec.batchSize) / spec.batchMs), 2)} of the device's capacity, ` +
          `${fmt(run.device.steadyBatch)} posts per batch and ${fmt(100 * run.device.steadyBusy)}% busy at steady state`
        : "";
    log(
      `${row.label}: ${run.messagesPerSecond.toFixed(1)} msg/s (${run.seconds.toFixed(2)} s, ready in ${run.readySeconds.toFixed(1)} s${device})`,
    );
  }
}
await measureInferenceOnly();
for (let r = 0; r < repeat; r++) {
  for (const row of workerRows) {
    if (!row.mode.live) continue;
    const full = median(row.throughput.map((t) => t.messagesPerSecond));
    for (const fraction of rates) {
      const run = await latency(row, textsForRow(row), full * fraction);
      row.latency.set(fraction, [...(row.latency.get(fraction) ?? []), run]);
      log(
        `${row.label} at ${run.rate.toFixed(1)}/s (produced ${run.producedRate.toFixed(1)}/s): ` +
          `p50 ${run.p50} p95 ${run.p95} p99 ${run.p99} ms (${run.samples} samples)`,
      );
    }
  }
}
await admin.disconnect();
for (const m of models) if (m.key === "noop" || m.key === "sim") rmSync(m.dir, { recursive: true, force: true });

const report = reportTables(rows, inference);
const lines = [
  `Brokers ${brokers.join(",")}; ${partitions} input partitions; de-duplication on (Redis); ONNX Runtime ${threads} threads; ` +
    `medians of ${repeat} interleaved repeats, their range in brackets${quick ? " (--quick)" : ""}.`,
  `Backlog: ${fmt(plumbingMessages)} messages from ${args.data}${plumbingMessages > all.length ? " (texts repeated, ids unique)" : ""}, ` +
    `committed in one transaction once the row was ready (${WARMUP} warm-up messages read back); CPU by process id: ` +
    `${
      Object.entries(pids)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "none found"
    }.`,
  ...models.map(
    (m) =>
      `${m.label}: ${m.key === "noop" || m.key === "sim" ? `${tinyDir}'s tokenizer, no real model` : m.dir}` +
      `${
        Object.keys(m.flags).length
          ? `; ${Object.entries(m.flags)
              .map(([k, v]) => `${k}=${v}`)
              .join(", ")}`
          : ""
      }.`,
  ),
  "",
  ...report.main,
  "",
  "÷ its ceiling: each repeat's rate over the same repeat's kafkajs ceiling of the same delivery " +
    "(exactly-once: transactions; at-least-once: idempotent produce + commit). CPU is over the backlog window " +
    "(commit → last output read), per backlog message; the process's excludes the benchmark's reader thread.",
];
if (report.device.length) lines.push("", ...report.device);
if (report.inference.length) lines.push("", ...report.inference);
if (report.threads.length)
  lines.push(
    "",
    "CPU µs a message by thread (this process's threads by name; ONNX Runtime's own threads carry the inference thread's name; medians):",
    "",
    ...report.threads,
  );
if (report.batches.length)
  lines.push("", "The model's batches over the measured window (medians):", "", ...report.batches);
if (report.latency.length)
  lines.push(
    "",
    `Latency: paced for ${latencySeconds} s at fractions of the measured throughput, after ${WARMUP} warm-up messages; record timestamp → event read.`,
    "",
    ...report.latency,
  );
if (report.targets.length) lines.push("", ...report.targets);
process.stdout.write(`${lines.join("\n")}\n`);

mkdirSync(join(root, ".cache/bench"), { recursive: true });
const out = join(root, ".cache/bench", `e2e-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(
  out,
  JSON.stringify(
    {
      args,
      pids,
      inference: Object.fromEntries(inference),
      rows: rows.map((r) => ({
        label: r.label,
        model: r.model,
        messages: r.messages,
        throughput: r.throughput,
        latency: Object.fromEntries([...r.latency].map(([k, v]) => [String(k), v])),
      })),
    },
    null,
    2,
  ),
);
log(`raw figures in ${out}`);
