/**
 * Inference benchmark: our engine against the bare ONNX Runtime ceiling and the peers a user would
 * otherwise run, all in one run on the same texts and the same weights.
 *
 *   npm run build && node dist/bench/inference.bench.js --data path/to/umsab/test.jsonl
 *
 * Flags (environment in brackets): --data FILE [SW_BENCH_DATA] JSONL with a "text" field;
 * --model-dir DIR (default .cache/models/full-random, made by `tools/model/run.sh fixture --size full`);
 * --checkpoint DIR (the same weights for PyTorch, default .cache/models/full-random-hf);
 * --messages N (texts sampled from the data, default 512); --repeat N (default 3; medians quoted);
 * --threads N (default 2); --peers python,transformers-js (default both; `none` skips them);
 * --python PATH (default .cache/venv-model/bin/python);
 * --teacher-dir DIR (the zero-shot teacher, default .cache/models/full-teacher made by
 * `tools/model/run.sh fixture --size full --task zero-shot`, else the committed tiny one; `none`
 * skips it): its texts/s on the three labels, fp32 and int8, next to the student's.
 * Prints a Markdown table and writes the raw figures to .cache/bench/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { loadConfig } from "../src/config/index.js";
import type { BatchStats } from "../src/inference/batcher.js";
import { SentimentClassifier } from "../src/inference/classifier.js";
import { resolveModel } from "../src/inference/model/index.js";
import { OnnxBackend } from "../src/inference/onnx-backend.js";
import { padBatch } from "../src/inference/padded-batch.js";
import { loadTextClassifier } from "../src/inference/text-classifier.js";
import { type EncodedText, TextTokenizer } from "../src/inference/tokenizer.js";
import { seededShuffle } from "../test/helpers/random.js";
import { fmt, markdownTable, median, percentiles, targetsTable, verdict } from "./stats.js";

const root = resolve(import.meta.dirname, "../..");
const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: process.env.SW_BENCH_DATA },
    "model-dir": { type: "string", default: join(root, ".cache/models/full-random") },
    checkpoint: { type: "string", default: join(root, ".cache/models/full-random-hf") },
    messages: { type: "string", default: "512" },
    repeat: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    peers: { type: "string", default: "python,transformers-js" },
    python: { type: "string", default: join(root, ".cache/venv-model/bin/python") },
    "batch-sizes": { type: "string", default: "1,8,16,32,64" },
    "teacher-dir": {
      type: "string",
      default: existsSync(join(root, ".cache/models/full-teacher/model.onnx"))
        ? join(root, ".cache/models/full-teacher")
        : join(root, "test/fixtures/models/tiny-teacher"),
    },
  },
});
if (!args.data) throw new Error("pass --data <jsonl> (or SW_BENCH_DATA), e.g. path/to/umsab/test.jsonl");
const modelDir = resolve(args["model-dir"] as string);
const messages = Number(args.messages);
const repeat = Number(args.repeat);
const threads = Number(args.threads);
const batchSizes = (args["batch-sizes"] as string).split(",").map(Number);
const peers = new Set((args.peers as string).split(",").filter((p) => p && p !== "none"));
const runtime = {
  executionProviders: ["cpu" as const],
  intraOpThreads: threads,
  interOpThreads: 1,
  inferenceThreads: 1,
};
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

// ---- helpers -------------------------------------------------------------------------------

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

/** Runs `fn` `repeat` times and returns each run's seconds. */
async function repeated(fn: () => Promise<unknown>): Promise<number[]> {
  const seconds: number[] = [];
  for (let i = 0; i < repeat; i++) seconds.push(await timed(fn));
  return seconds;
}

/** A seeded sample keeps the data set's length distribution and makes runs comparable. */
const sample = (texts: string[], count: number) => seededShuffle(texts, 20261127).slice(0, count);

/** Multiply-accumulates ×2 of DistilBERT on one sequence of `t` tokens (attention included). */
function modelFlops(config: { dim: number; n_layers: number; hidden_dim: number }, t: number): number {
  const { dim: d, n_layers: layers, hidden_dim: ffn } = config;
  const perToken = 4 * d * d + 2 * d * ffn; // Q, K, V, output projections; feed-forward in and out
  const attention = 2 * t * d; // scores and context, per token
  return 2 * layers * t * (perToken + attention);
}

// ---- measurements --------------------------------------------------------------------------

/** The machine's float32 matrix-multiply rate through the same runtime (MLAS), in FLOP/s. */
async function matmulRate(): Promise<number> {
  const session = await ort.InferenceSession.create(join(root, "bench/fixtures/matmul.onnx"), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const [m, k, n] = [512, 768, 3072]; // the feed-forward layer on a batch of 512 tokens
  const a = new ort.Tensor(
    "float32",
    Float32Array.from({ length: m * k }, (_, i) => (i % 7) / 7),
    [m, k],
  );
  const b = new ort.Tensor(
    "float32",
    Float32Array.from({ length: k * n }, (_, i) => (i % 5) / 5),
    [k, n],
  );
  for (let i = 0; i < 3; i++) await session.run({ a, b });
  const seconds = await repeated(async () => {
    for (let i = 0; i < 10; i++) await session.run({ a, b });
  });
  await session.release();
  return (10 * 2 * m * k * n) / median(seconds);
}

interface Row {
  name: string;
  batchSize?: number | string;
  messagesPerSecond: number;
  tokensPerSecond?: number;
  flopUtilisation?: number;
  note?: string;
}

/** Bare session on pre-tokenized, length-sorted, pre-padded batches: the most the model allows. */
async function ceiling(encoded: EncodedText[], onnxPath: string, flopsOf: (t: number) => number, rate: number) {
  const backend = await OnnxBackend.load(onnxPath, 3, runtime);
  const sorted = [...encoded].sort((a, b) => a.tokens - b.tokens);
  const realTokens = encoded.reduce((s, e) => s + e.tokens, 0);
  const rows: Row[] = [];
  for (const size of batchSizes) {
    const batches: ReturnType<typeof padBatch>[] = [];
    for (let i = 0; i < sorted.length; i += size) batches.push(padBatch(sorted.slice(i, i + size)));
    const flops = batches.reduce((s, b) => s + b.size * flopsOf(b.length), 0);
    const seconds = median(
      await repeated(async () => {
        for (const batch of batches) await backend.run(batch);
      }),
    );
    rows.push({
      name: "ceiling: bare ONNX Runtime session",
      batchSize: size,
      messagesPerSecond: encoded.length / seconds,
      tokensPerSecond: realTokens / seconds,
      flopUtilisation: flops / seconds / rate,
    });
    log(`ceiling batch ${size}: ${(encoded.length / seconds).toFixed(1)} msg/s`);
  }
  await backend.close();
  return rows;
}

/** Our engine end to end: tokenize, batch, infer, post-process, texts in arrival order. */
async function ours(texts: string[], variant: "fp32" | "int8") {
  const config = loadConfig({ env: {}, flags: { "model.dir": modelDir, "model.variant": variant } });
  let real = 0;
  let padded = 0;
  const classifier = await SentimentClassifier.load({
    model: config.model,
    batching: config.batching,
    runtime,
    onBatch: (stats: BatchStats) => {
      real += stats.realTokens;
      padded += stats.paddedTokens;
    },
  });
  await classifier.classifyAll(texts.slice(0, 32));
  [real, padded] = [0, 0];
  const seconds = await repeated(() => classifier.classifyAll(texts));
  const first = await classifier.classifyAll(texts.slice(0, 5));
  await classifier.close();
  return { seconds, paddingEfficiency: real / padded, first, batching: config.batching };
}

/** The zero-shot teacher end to end (pairs tokenized, batched, inferred, softmaxed across the labels). */
async function teacher(dir: string, texts: string[], variant: "fp32" | "int8") {
  const config = loadConfig({ env: {}, flags: { "model.dir": dir, "model.variant": variant } });
  const classifier = await loadTextClassifier({ model: config.model, batching: config.batching, runtime });
  await classifier.classifyAll(texts.slice(0, 8));
  const seconds = await repeated(() => classifier.classifyAll(texts));
  const labels = classifier.model.labels.length;
  const name = classifier.model.name;
  await classifier.close();
  return { seconds, labels, name };
}

interface PeerResult {
  peer: string;
  best: { batchSize: number; medianMessagesPerSecond: number };
  runs: Array<{ batchSize: number; medianMessagesPerSecond: number }>;
  versions: Record<string, string>;
  firstResults: Array<Array<{ label: string; score: number }>>;
}

function runPeer(command: string, peerArgs: string[]): PeerResult | string {
  const result = spawnSync(command, peerArgs, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 26,
  });
  if (result.status !== 0) return `failed (${result.error?.message ?? `exit ${result.status}`})`;
  return JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as PeerResult;
}

// ---- main ----------------------------------------------------------------------------------

const all = readFileSync(args.data, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => (JSON.parse(l) as { text: string }).text);
const texts = sample(all, messages);
const model = await resolveModel({ ...loadConfig({ env: {} }).model, dir: modelDir });
const modelConfig = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8"));
const tokenizer = TextTokenizer.fromFile(model.tokenizerPath, model.maxLength);
const encoded = await tokenizer.encodeAll(texts);
const lengths = encoded.map((e) => e.tokens);
const [p90, p99] = percentiles(lengths, [0.9, 0.99]);
const lengthNote = `tokens median ${median(lengths)}, p90 ${p90}, p99 ${p99}, max ${Math.max(...lengths)}`;
log(`${texts.length} texts; ${lengthNote}`);

const rate = await matmulRate();
log(`matmul ${(rate / 1e9).toFixed(1)} GFLOP/s`);
const flopsOf = (t: number) => modelFlops(modelConfig, t);
const ceilingRows = await ceiling(encoded, model.onnxPath, flopsOf, rate);
const best = ceilingRows.reduce((a, b) => (b.messagesPerSecond > a.messagesPerSecond ? b : a));
const realTokens = lengths.reduce((a, b) => a + b, 0);

const rows: Row[] = [best];
const fp32 = await ours(texts, "fp32");
log(`ours fp32: ${(texts.length / median(fp32.seconds)).toFixed(1)} msg/s`);
const int8 = existsSync(join(modelDir, "model_quantized.onnx")) ? await ours(texts, "int8") : undefined;
const oursRow = (name: string, r: typeof fp32): Row => ({
  name,
  batchSize: `dynamic ≤${r.batching.maxBatchSize}`,
  messagesPerSecond: texts.length / median(r.seconds),
  tokensPerSecond: realTokens / median(r.seconds),
  note: `padding efficiency ${r.paddingEfficiency.toFixed(3)}`,
});
rows.push(oursRow("ours fp32: tokenize + batch + infer + post-process", fp32));
if (int8) rows.push(oursRow("ours int8 (model_quantized.onnx)", int8));

// The teacher costs a forward pass per label per text: measured on fewer texts (a quarter, at least 32).
const teacherDir = args["teacher-dir"] === "none" ? undefined : resolve(args["teacher-dir"] as string);
const teacherTexts = texts.slice(0, Math.max(32, Math.floor(texts.length / 4)));
const teacherRuns: Array<{ variant: string; messagesPerSecond: number; name: string; labels: number }> = [];
for (const variant of ["fp32", "int8"] as const) {
  if (!teacherDir || !existsSync(join(teacherDir, variant === "fp32" ? "model.onnx" : "model_quantized.onnx")))
    continue;
  const r = await teacher(teacherDir, teacherTexts, variant);
  const messagesPerSecond = teacherTexts.length / median(r.seconds);
  teacherRuns.push({ variant, messagesPerSecond, name: r.name, labels: r.labels });
  log(`teacher ${variant}: ${messagesPerSecond.toFixed(1)} msg/s`);
  rows.push({
    name: `teacher ${variant}: zero-shot, ${r.labels} labels (${r.labels} pairs a text)`,
    batchSize: "dynamic",
    messagesPerSecond,
    note: `${r.name}; ${teacherTexts.length} texts`,
  });
}

const textsFile = join(mkdtempSync(join(tmpdir(), "sw-bench-")), "texts.json");
writeFileSync(textsFile, JSON.stringify(texts));
const common = [
  "--texts",
  textsFile,
  "--repeat",
  String(repeat),
  "--threads",
  String(threads),
  "--batch-sizes",
  "1,8,16,32,64",
];
const peerResults: Record<string, PeerResult | string> = {};
if (peers.has("python")) {
  log("peer: Python transformers pipeline (PyTorch)");
  peerResults.python = runPeer(args.python as string, [
    join(root, "bench/peers/hf_pipeline.py"),
    "--checkpoint",
    args.checkpoint as string,
    ...common,
  ]);
}
if (peers.has("transformers-js")) {
  log("peer: transformers.js pipeline (onnxruntime-node)");
  peerResults["transformers-js"] = runPeer(process.execPath, [
    join(root, "bench/peers/transformers-js.mjs"),
    "--model-dir",
    modelDir,
    "--dtype",
    "fp32",
    ...common,
  ]);
}
for (const [name, result] of Object.entries(peerResults)) {
  if (typeof result === "string") rows.push({ name: `peer ${name}`, messagesPerSecond: Number.NaN, note: result });
  else
    rows.push({
      name: name === "python" ? "peer: Python HF pipeline, PyTorch fp32" : "peer: transformers.js pipeline, fp32",
      batchSize: result.best.batchSize,
      messagesPerSecond: result.best.medianMessagesPerSecond,
      tokensPerSecond: (realTokens * result.best.medianMessagesPerSecond) / texts.length,
      note: Object.entries(result.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
    });
}

// ---- report --------------------------------------------------------------------------------

const oursRate = texts.length / median(fp32.seconds);
const table = markdownTable(
  ["engine", "batch", "messages/s", "tokens/s", "ours ÷ it", "note"],
  rows.map((r) => [
    r.name,
    String(r.batchSize ?? ""),
    fmt(r.messagesPerSecond, 1),
    fmt(r.tokensPerSecond),
    fmt(oursRate / r.messagesPerSecond, 2),
    r.note ??
      (r.flopUtilisation !== undefined ? `FLOP utilisation ${(100 * r.flopUtilisation).toFixed(0)}% of matmul` : ""),
  ]),
  ["left", "left", "right", "right", "right", "left"],
);
const peerRate = (name: string) => {
  const r = peerResults[name];
  return typeof r === "object" ? r.best.medianMessagesPerSecond : Number.NaN;
};
const targets: Array<[string, number, number]> = [
  ["ours ÷ ceiling", oursRate / best.messagesPerSecond, 0.95],
  ["ours ÷ Python pipeline", oursRate / peerRate("python"), 2],
  ["ours ÷ transformers.js", oursRate / peerRate("transformers-js"), 1.5],
  ["int8 ÷ fp32", int8 ? median(fp32.seconds) / median(int8.seconds) : Number.NaN, 2],
  ["padding efficiency", fp32.paddingEfficiency, 0.85],
];
const lines = [
  `Machine: ${threads} threads; matmul ${(rate / 1e9).toFixed(1)} GFLOP/s (float32, ONNX Runtime MLAS, 512×768×3072).`,
  `Model: ${model.name} (${modelConfig.n_layers} layers, dim ${modelConfig.dim}, vocab ${modelConfig.vocab_size}), ${modelDir}.`,
  `Texts: ${texts.length} sampled from ${args.data}; ${lengthNote}. Medians of ${repeat} runs.`,
  "",
  ...table,
  "",
  ...targetsTable(targets.map(([name, got, want]) => ({ name, got, want: `≥ ${want}`, status: verdict(got, want) }))),
  "",
  ...teacherRuns.map(
    (t) =>
      `Teacher ${t.variant} (${t.name}): ${fmt(t.messagesPerSecond, 1)} texts/s for ${t.labels} labels, ` +
      `${fmt(oursRate / t.messagesPerSecond, 1)}× the student's fp32 cost per text: shadowing p% of the traffic adds about ` +
      `p × ${fmt(oursRate / t.messagesPerSecond / 100, 3)} times the student's own inference time.`,
  ),
  "Ceiling at every batch size: " +
    ceilingRows.map((r) => `${r.batchSize}: ${fmt(r.messagesPerSecond, 1)}`).join(", ") +
    " messages/s.",
];
process.stdout.write(`${lines.join("\n")}\n`);

const answers = {
  ours: fp32.first.map((r) => r.scores),
  peers: Object.fromEntries(
    Object.entries(peerResults).map(([k, v]) => [k, typeof v === "object" ? v.firstResults : v]),
  ),
};
mkdirSync(join(root, ".cache/bench"), { recursive: true });
const out = join(root, ".cache/bench", `inference-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(out, JSON.stringify({ rows, ceilingRows, targets, answers, peerResults, teacherRuns }, null, 2));
log(`raw figures in ${out}`);
