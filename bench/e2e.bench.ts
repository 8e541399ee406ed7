/**
 * End-to-end benchmark (issue #4): the live worker on the local broker and Redis, against the
 * inference-only figure of the same model on the same texts, in one run.
 *
 *   export $(node scripts/services.mjs up)
 *   npm run bench -- e2e --data path/to/umsab/test.jsonl
 *
 * Per model (the full-size fixture; the tiny fixture, which the issue takes for "the plumbing";
 * and a no-op ONNX graph with the tiny tokenizer, the plumbing alone: Kafka, Redis, tokenizing,
 * batching, since the tiny model is not free) and per mode (the worker exactly-once and
 * at-least-once, de-duplication on):
 * - inference only: `SentimentClassifier.classifyAll` on the texts (what the inference benchmark
 *   calls "ours");
 * - throughput: N messages pre-loaded on a fresh topic (6 partitions, keys spread), the worker
 *   started in-process with `startWorker`; N ÷ (first assignment → last event read by a
 *   read_committed consumer);
 * - latency: the worker running, a producer paced at the measured throughput ("full") and at half
 *   of it; record timestamp → event read, p50/p95/p99 (after a warm-up that is not measured).
 * Runs are interleaved across rows `--repeat` times; medians are quoted, and the ratio is each
 * run's to the inference-only run just before it. The reader and the paced producer live in a
 * worker thread (`e2e/probe.ts`), off the worker's event loop. Each backlog run also splits the
 * CPU it used (`e2e/cpu.ts`): the worker's thread, the rest of the process, the rest of the machine.
 *
 * Flags (environment in brackets): --data FILE [SW_BENCH_DATA] JSONL with a "text" field (never
 * committed); --model-dir DIR (default .cache/models/full-random); --tiny-model-dir DIR (default
 * test/fixtures/models/tiny); --models full,tiny,noop; --modes exactly-once,at-least-once (the
 * names in `e2e/modes.ts`); --messages N (full model, default 512, as the inference benchmark);
 * --plumbing-messages N (tiny and no-op, default 20000); --latency-seconds S (each paced run, default 20); --rates 1,0.5 (fractions of
 * the measured throughput; `none` skips the paced runs); --repeat N (default 3); --threads N
 * (ONNX Runtime, default 2); --partitions N (default 6); --set path=value,... (extra worker
 * configuration). Brokers and Redis from KAFKA_BROKERS and REDIS_URL. Prints a Markdown table;
 * the raw figures go to .cache/bench/.
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
import { type CpuSplit, cpuWindow } from "./e2e/cpu.js";
import { type BenchMode, MODES, type ModeContext, type RunTopics } from "./e2e/modes.js";
import { inputMessage, Probe, type ProbeJob, type ProbeResult } from "./e2e/probe.js";

const root = resolve(import.meta.dirname, "../..");
const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: process.env.SW_BENCH_DATA },
    "model-dir": { type: "string", default: join(root, ".cache/models/full-random") },
    "tiny-model-dir": { type: "string", default: join(root, "test/fixtures/models/tiny") },
    models: { type: "string", default: "full,tiny,noop" },
    modes: { type: "string", default: "exactly-once,at-least-once" },
    messages: { type: "string", default: "512" },
    "plumbing-messages": { type: "string", default: "20000" },
    "latency-seconds": { type: "string", default: "20" },
    rates: { type: "string", default: "1,0.5" },
    repeat: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    partitions: { type: "string", default: "6" },
    set: { type: "string", default: "" },
  },
});
if (!args.data) throw new Error("pass --data <jsonl> (or SW_BENCH_DATA), e.g. path/to/umsab/test.jsonl");
const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter(Boolean);
const redisUrl = process.env.REDIS_URL ?? "";
if (!brokers.length || !redisUrl)
  throw new Error("set KAFKA_BROKERS and REDIS_URL: export $(node scripts/services.mjs up)");

const repeat = Number(args.repeat);
const threads = Number(args.threads);
const partitions = Number(args.partitions);
const latencySeconds = Number(args["latency-seconds"]);
const rates = args.rates === "none" ? [] : (args.rates as string).split(",").map(Number);
const extraFlags = Object.fromEntries(
  (args.set as string)
    .split(",")
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);
const modes: [string, BenchMode][] = (args.modes as string).split(",").map((name) => {
  const mode = MODES[name];
  if (!mode) throw new Error(`unknown mode ${name}; known: ${Object.keys(MODES).join(", ")}`);
  return [name, mode];
});
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

interface ModelChoice {
  key: "full" | "tiny" | "noop";
  label: string;
  dir: string;
  messages: number;
}
const wanted = (args.models as string).split(",");
const tinyDir = resolve(args["tiny-model-dir"] as string);
const MODELS: ModelChoice[] = [
  { key: "full", label: "full-size", dir: resolve(args["model-dir"] as string), messages: Number(args.messages) },
  { key: "tiny", label: "tiny fixture", dir: tinyDir, messages: Number(args["plumbing-messages"]) },
  {
    key: "noop",
    label: "no-op model (plumbing alone)",
    // Made only when asked for: a temporary directory.
    dir: wanted.includes("noop") ? nullModelDir(tinyDir) : "",
    messages: Number(args["plumbing-messages"]),
  },
];
const models = MODELS.filter((m) => wanted.includes(m.key));

// ---- helpers -------------------------------------------------------------------------------

const median = (xs: number[]) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const percentile = (sorted: number[], p: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number) : Number.NaN;

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

/** Produces the texts as input messages; `roundRobin` puts message i on partition i mod partitions. */
async function produceBacklog(topic: string, texts: string[], idPrefix: string, roundRobin = false): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < texts.length; i += 1000) {
      const messages = texts.slice(i, i + 1000).map((text, j) => ({
        ...inputMessage(`${idPrefix}${i + j}`, text, `user-${(i + j) % KEYS}`),
        ...(roundRobin ? { partition: (i + j) % partitions } : {}),
      }));
      await producer.send({ topic, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

function context(model: ModelChoice, topics: RunTopics, runId: string): ModeContext {
  return { brokers, redisUrl, modelDir: model.dir, threads, topics, runId, flags: extraFlags };
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

/** `classifyAll` on the texts with the worker's own configuration: the most the worker could do. */
async function inferenceOnly(model: ModelChoice, texts: string[]): Promise<number> {
  const config = loadConfig({
    env: {},
    flags: { "model.dir": model.dir, "runtime.intraOpThreads": String(threads), ...extraFlags },
  });
  const classifier = await SentimentClassifier.load({
    model: config.model,
    batching: config.batching,
    runtime: config.runtime,
  });
  await classifier.classifyAll(texts.slice(0, 64));
  const start = performance.now();
  await classifier.classifyAll(texts);
  const seconds = (performance.now() - start) / 1000;
  await classifier.close();
  return texts.length / seconds;
}

interface Checked {
  /** Events read, distinct ids among them, and messages produced: all equal when each came once. */
  events: number;
  distinct: number;
  expected: number;
}

interface ThroughputRun extends Checked {
  messagesPerSecond: number;
  seconds: number;
  cpu: CpuSplit;
}

/** A pre-loaded backlog: N ÷ (consumption starts → last event read). */
async function throughput(model: ModelChoice, mode: BenchMode, texts: string[]): Promise<ThroughputRun> {
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  const topics = await freshTopics(runId);
  await produceBacklog(topics.input, texts, "m-");
  const probe = new Probe({
    brokers,
    outputTopic: topics.output,
    expected: texts.length,
    warmupPrefix: "warm-",
    warmup: 0,
  });
  await probe.ready;
  const running = await mode.start(context(model, topics, runId));
  const startedAt = Date.now();
  const endCpu = cpuWindow();
  const result = await finish(probe, texts.length, 900_000, `${model.key} ${mode.name} backlog`);
  const cpu = endCpu();
  await running.stop();
  await dropTopics(topics);
  const seconds = (result.lastAt - startedAt) / 1000;
  return {
    messagesPerSecond: result.count / seconds,
    seconds,
    cpu,
    events: result.count,
    distinct: result.distinct,
    expected: texts.length,
  };
}

interface LatencyRun extends Checked {
  rate: number;
  producedRate: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  samples: number;
}

/** The worker running; a producer paced at `rate` for `latencySeconds`; record timestamp → event read. */
async function latency(model: ModelChoice, mode: BenchMode, texts: string[], rate: number): Promise<LatencyRun> {
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  const topics = await freshTopics(runId);
  const count = Math.max(50, Math.round(rate * latencySeconds));
  // A few per partition, so each partition's first batch (transactional id, fencing) is behind us.
  const warmup = partitions * 4;
  const probe = new Probe({
    brokers,
    outputTopic: topics.output,
    expected: warmup + count,
    warmupPrefix: "warm-",
    warmup,
    pace: { inputTopic: topics.input, texts, idPrefix: "m-", rate, count, keys: KEYS },
  } satisfies ProbeJob);
  await probe.ready;
  await produceBacklog(topics.input, texts.slice(0, warmup), "warm-", true);
  const running = await mode.start(context(model, topics, runId));
  await probe.warm;
  probe.go();
  const result = await finish(
    probe,
    warmup + count,
    120_000 + (3000 * count) / rate,
    `${model.key} ${mode.name} at ${rate.toFixed(1)}/s`,
  );
  await running.stop();
  await dropTopics(topics);
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  return {
    rate,
    producedRate: result.producedRate,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    samples: sorted.length,
    events: result.count,
    distinct: result.distinct,
    expected: warmup + count,
  };
}

// ---- main ----------------------------------------------------------------------------------

const all = readFileSync(args.data, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => (JSON.parse(l) as { text: string }).text);
await admin.connect();

interface Row {
  model: ModelChoice;
  mode: string;
  throughput: ThroughputRun[];
  latency: Map<number, LatencyRun[]>;
}
const inference = new Map<string, number[]>();
const rows: Row[] = [];
for (const model of models) {
  const texts = textsFor(all, model.messages);
  const modelRows = modes.map(([, mode]) => ({
    model,
    mode: mode.name,
    throughput: [] as ThroughputRun[],
    latency: new Map<number, LatencyRun[]>(),
  }));
  rows.push(...modelRows);
  inference.set(model.key, []);
  // Interleaved, so drift on a shared machine spreads over every row instead of hitting one.
  for (let r = 0; r < repeat; r++) {
    const rate = await inferenceOnly(model, texts);
    inference.get(model.key)?.push(rate);
    log(`${model.key} inference only: ${rate.toFixed(1)} msg/s`);
    for (const [i, [, mode]] of modes.entries()) {
      const run = await throughput(model, mode, texts);
      modelRows[i]?.throughput.push(run);
      log(`${model.key} ${mode.name}: ${run.messagesPerSecond.toFixed(1)} msg/s (${run.seconds.toFixed(2)} s)`);
    }
  }
  for (let r = 0; r < repeat; r++) {
    for (const [i, [, mode]] of modes.entries()) {
      const row = modelRows[i] as Row;
      if (!mode.live) continue;
      const full = median(row.throughput.map((t) => t.messagesPerSecond));
      for (const fraction of rates) {
        const run = await latency(model, mode, texts, full * fraction);
        row.latency.set(fraction, [...(row.latency.get(fraction) ?? []), run]);
        log(
          `${model.key} ${mode.name} at ${run.rate.toFixed(1)}/s (produced ${run.producedRate.toFixed(1)}/s): ` +
            `p50 ${run.p50} p95 ${run.p95} p99 ${run.p99} ms (${run.samples} samples)`,
        );
      }
    }
  }
}
await admin.disconnect();
for (const m of models) if (m.key === "noop") rmSync(m.dir, { recursive: true, force: true });

// ---- report --------------------------------------------------------------------------------

const fmt = (x: number, digits = 0) =>
  Number.isNaN(x) ? "–" : x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const rateDigits = (x: number) => (x < 100 ? 1 : 0);
const latencyCell = (runs: LatencyRun[] | undefined) =>
  runs?.length
    ? `${fmt(median(runs.map((r) => r.rate)), rateDigits(runs[0]?.rate ?? 0))} | ${fmt(median(runs.map((r) => r.p50)))} / ${fmt(median(runs.map((r) => r.p95)))} / ${fmt(median(runs.map((r) => r.p99)))}`
    : "– | –";
const checks = (row: Row) => {
  const runs: Checked[] = [...row.throughput, ...[...row.latency.values()].flat()];
  const bad = runs.filter((r) => r.events !== r.expected || r.distinct !== r.expected);
  return bad.length ? `${bad.length} run(s) with missing or repeated events` : "every event once";
};
const [fullFraction, halfFraction] = [rates[0] ?? 1, rates[1] ?? 0.5];
/** Each repeat's end-to-end rate over the inference-only rate measured just before it, so drift cancels. */
const ratio = (row: Row) => {
  const inf = inference.get(row.model.key) ?? [];
  return median(row.throughput.map((t, r) => t.messagesPerSecond / (inf[r] ?? Number.NaN)));
};
const throughputOf = (row: Row) => median(row.throughput.map((t) => t.messagesPerSecond));
const header = [
  "| model | mode | inference only (msg/s) | end to end (msg/s) | e2e ÷ inference |" +
    ` rate ×${fullFraction} (msg/s) | p50 / p95 / p99 (ms) | rate ×${halfFraction} (msg/s) | p50 / p95 / p99 (ms) | check |`,
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
];
const table = rows.map((row) => {
  const inf = median(inference.get(row.model.key) ?? []);
  const digits = rateDigits(inf);
  return `| ${row.model.label} | ${row.mode} | ${fmt(inf, digits)} | ${fmt(throughputOf(row), digits)} | ${fmt(ratio(row), 2)} | ${latencyCell(row.latency.get(fullFraction))} | ${latencyCell(row.latency.get(halfFraction))} | ${checks(row)} |`;
});

/** CPU per message in microseconds, the median over the backlog runs. */
const perMessage = (row: Row, part: (c: CpuSplit) => number) =>
  median(row.throughput.map((t) => (1e6 * part(t.cpu)) / t.events));
const cpuTable = [
  "| model | mode | worker's JS thread (µs/msg) | rest of the process: inference, reader (µs/msg) | rest of the machine: broker, Redis, others (µs/msg) | machine busy |",
  "| --- | --- | ---: | ---: | ---: | ---: |",
  ...rows.map((row) => {
    const busy = median(
      row.throughput.map(
        (t) => (t.cpu.mainThread + t.cpu.restOfProcess + t.cpu.restOfMachine) / (t.cpu.wallSeconds * t.cpu.cores),
      ),
    );
    return `| ${row.model.label} | ${row.mode} | ${fmt(perMessage(row, (c) => c.mainThread))} | ${fmt(perMessage(row, (c) => c.restOfProcess))} | ${fmt(perMessage(row, (c) => c.restOfMachine))} | ${fmt(100 * busy)}% |`;
  }),
];

const targets: Array<[string, number, string, boolean]> = [];
for (const row of rows) {
  if (row.model.key === "full") {
    targets.push([`end to end ÷ inference only, ${row.mode}`, ratio(row), "≥ 0.90", ratio(row) >= 0.9]);
    const half = row.latency.get(halfFraction);
    if (half?.length) {
      const p99 = median(half.map((r) => r.p99));
      targets.push([`p99 at half rate, ${row.mode} (ms)`, p99, "≤ 250", p99 <= 250]);
    }
  } else {
    const e2e = throughputOf(row);
    targets.push([`plumbing, ${row.model.label}, ${row.mode} (msg/s)`, e2e, "≥ 20,000", e2e >= 20_000]);
  }
}
const lines = [
  `Brokers ${brokers.join(",")}; ${partitions} input partitions; de-duplication on (Redis); ONNX Runtime ${threads} threads; medians of ${repeat} runs.`,
  ...models.map(
    (m) =>
      `${m.label}: ${m.key === "noop" ? `${tinyDir}'s tokenizer and an ONNX graph that does nothing` : m.dir}; ` +
      `${m.messages} messages from ${args.data}${m.messages > all.length ? " (texts repeated, ids unique)" : ""}.`,
  ),
  `Latency: paced for ${latencySeconds} s at the measured end-to-end throughput (×${rates.join(", ×")}), after ${partitions * 4} warm-up messages; record timestamp → event read by a read_committed consumer.`,
  "",
  ...header,
  ...table,
  "",
  "e2e ÷ inference is the median over the repeats of each run's ratio to the inference-only run just before it.",
  "",
  "Where the CPU went during the backlog runs (medians):",
  "",
  ...cpuTable,
  "",
  "| target | measured | wanted | |",
  "| --- | ---: | ---: | --- |",
  ...targets.map(
    ([name, got, want, met]) =>
      `| ${name} | ${fmt(got, got < 10 ? 2 : 0)} | ${want} | ${Number.isNaN(got) ? "not measured" : met ? "met" : "missed"} |`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n`);

mkdirSync(join(root, ".cache/bench"), { recursive: true });
const out = join(root, ".cache/bench", `e2e-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(
  out,
  JSON.stringify(
    {
      args,
      inference: Object.fromEntries(inference),
      rows: rows.map((r) => ({
        model: r.model,
        mode: r.mode,
        throughput: r.throughput,
        latency: Object.fromEntries([...r.latency].map(([k, v]) => [String(k), v])),
      })),
    },
    null,
    2,
  ),
);
log(`raw figures in ${out}`);
