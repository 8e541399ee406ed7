#!/usr/bin/env node
// Peer benchmark: transformers.js (@huggingface/transformers v4) text-classification pipeline on onnxruntime-node (CPU).
//
// Spawned by bench/inference.bench.ts as a child process; see bench/peers/README.md.
// Prints ONE JSON object on stdout at the end; progress goes to stderr.
//
//   node bench/peers/transformers-js.mjs --model-dir .cache/models/full-random --dtype fp32 \
//     --texts /tmp/texts.json --batch-sizes 1,8,16,32 --repeat 3 --threads 2
//
// transformers.js loads `<env.localModelPath>/<id>/{config.json,tokenizer.json,tokenizer_config.json,onnx/model[_quantized].onnx}`.
// The ONNX dir is flat, so we lay that structure out in a temp folder with symlinks (no copy of the 500 MB file)
// and remove the temp folder at exit.

import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
// The benchmarks' shared statistics, compiled: this peer is spawned by dist/bench/inference.bench.js.
import { median } from "../../dist/bench/stats.js";

const log = (...args) => console.error("[transformers-js]", ...args);

function fail(message) {
  log(`error: ${message}`);
  process.exit(2);
}

function parseCli(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      "model-dir": { type: "string" },
      dtype: { type: "string", default: "fp32" },
      texts: { type: "string" },
      "batch-sizes": { type: "string", default: "1,8,16,32" },
      repeat: { type: "string", default: "3" },
      threads: { type: "string", default: "2" },
      "warmup-batches": { type: "string", default: "3" },
      limit: { type: "string", default: "0" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.error(
      "usage: node bench/peers/transformers-js.mjs --model-dir <onnx dir> --texts <file.json> [--dtype fp32|q8]\n" +
        "       [--batch-sizes 1,8,16,32] [--repeat 3] [--threads 2] [--warmup-batches 3] [--limit N]",
    );
    process.exit(0);
  }
  if (!values["model-dir"]) fail("--model-dir is required");
  if (!values.texts) fail("--texts is required");
  if (!["fp32", "q8"].includes(values.dtype)) fail(`--dtype must be fp32 or q8, got ${values.dtype}`);
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const batchSizes = values["batch-sizes"]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (batchSizes.length === 0 || batchSizes.some((b) => !Number.isInteger(b) || b < 1)) {
    fail("--batch-sizes must be positive integers, e.g. 1,8,16,32");
  }
  return {
    modelDir: path.resolve(values["model-dir"]),
    dtype: values.dtype,
    textsFile: values.texts,
    batchSizes,
    repeat: int("repeat", 1),
    threads: int("threads", 1),
    warmupBatches: int("warmup-batches", 0),
    limit: int("limit", 0),
  };
}

function loadTexts(file, limit) {
  const texts = JSON.parse(fs.readFileSync(file, "utf8"));
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === "string"))
    fail(`${file}: expected a JSON array of strings`);
  const out = limit > 0 ? texts.slice(0, limit) : texts;
  if (out.length === 0) fail(`${file}: no texts`);
  return out;
}

/** Lays out `<root>/<name>/...` the way transformers.js expects, as symlinks into the flat ONNX dir. */
function layoutModel(modelDir, dtype) {
  const onnxFile = dtype === "q8" ? "model_quantized.onnx" : "model.onnx";
  const needed = ["config.json", "tokenizer.json", "tokenizer_config.json", onnxFile];
  for (const f of needed) {
    if (!fs.existsSync(path.join(modelDir, f))) fail(`${path.join(modelDir, f)} is missing`);
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tjs-peer-"));
  const name = "peer-model";
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) {
    fs.symlinkSync(path.join(modelDir, f), path.join(dir, f));
  }
  fs.symlinkSync(path.join(modelDir, onnxFile), path.join(dir, "onnx", onnxFile));
  // External-data models (> 2 GB) would also need model.onnx_data; ours are single-file.
  const data = `${onnxFile}_data`;
  if (fs.existsSync(path.join(modelDir, data))) fs.symlinkSync(path.join(modelDir, data), path.join(dir, "onnx", data));
  return { root, name, onnxFile };
}

function packageVersion(req, name) {
  // Walk up from the package's resolved entry to its package.json (subpath may not be exported).
  try {
    let dir = path.dirname(req.resolve(name));
    for (;;) {
      const pj = path.join(dir, "package.json");
      if (fs.existsSync(pj)) {
        const j = JSON.parse(fs.readFileSync(pj, "utf8"));
        if (j.name === name) return { version: j.version, path: dir };
      }
      const up = path.dirname(dir);
      if (up === dir) return null;
      dir = up;
    }
  } catch {
    return null;
  }
}

async function classifyAll(classifier, texts, batchSize, limitBatches = Infinity) {
  const out = [];
  for (let i = 0, n = 0; i < texts.length && n < limitBatches; i += batchSize, n++) {
    const slice = texts.slice(i, i + batchSize);
    // With an array input and top_k: null, v4 returns one array of {label, score} per text (sorted by score).
    const res = await classifier(slice, { top_k: null });
    if (!Array.isArray(res) || res.length !== slice.length) {
      throw new Error(
        `pipeline returned ${Array.isArray(res) ? res.length : typeof res} results for ${slice.length} texts`,
      );
    }
    out.push(...res);
  }
  return out;
}

async function main() {
  const args = parseCli(process.argv.slice(2));
  const texts = loadTexts(args.textsFile, args.limit);

  const req = createRequire(import.meta.url);
  const tjs = packageVersion(req, "@huggingface/transformers");
  // The onnxruntime-node that transformers.js itself resolves (not necessarily the project's top-level one).
  const ortNode = tjs ? packageVersion(createRequire(path.join(tjs.path, "package.json")), "onnxruntime-node") : null;

  const { pipeline, env } = await import("@huggingface/transformers");
  const layout = layoutModel(args.modelDir, args.dtype);
  const cleanup = () => fs.rmSync(layout.root, { recursive: true, force: true }); // removes symlinks only
  process.on("exit", cleanup);

  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = layout.root;
  env.useFSCache = false;
  env.useBrowserCache = false;

  const sessionOptions = { intraOpNumThreads: args.threads, interOpNumThreads: 1 };
  const t0 = performance.now();
  const classifier = await pipeline("text-classification", layout.name, {
    dtype: args.dtype,
    device: "cpu",
    session_options: sessionOptions,
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  log(
    `loaded ${path.join(args.modelDir, layout.onnxFile)} (${args.dtype}) in ${loadSeconds.toFixed(1)}s; ${texts.length} texts`,
  );

  // Truncation: the v4 pipeline always tokenizes with { padding: true, truncation: true } and max_length defaults to
  // tokenizer_config.model_max_length; count how many texts actually hit that limit (for the report).
  const maxLen = classifier.tokenizer.model_max_length;
  const tokenCounts = texts.map((t) => classifier.tokenizer(t, { return_tensor: false }).input_ids.length);
  const truncatedTexts = tokenCounts.filter((n) => n > maxLen).length;

  // Reference answers for the parity check: first 5 texts, one at a time (no padding), untimed.
  const firstResults = [];
  for (const t of texts.slice(0, 5)) {
    const [r] = await classifyAll(classifier, [t], 1);
    firstResults.push(r.map(({ label, score }) => ({ label, score })));
  }

  const runs = [];
  for (const b of args.batchSizes) {
    await classifyAll(classifier, texts, b, Math.max(1, args.warmupBatches));
    const seconds = [];
    for (let r = 0; r < args.repeat; r++) {
      const t = performance.now();
      const out = await classifyAll(classifier, texts, b);
      const dt = (performance.now() - t) / 1000;
      if (out.length !== texts.length) throw new Error(`got ${out.length} results for ${texts.length} texts`);
      seconds.push(dt);
      log(`batch=${b} repeat=${r + 1}/${args.repeat}: ${dt.toFixed(3)}s, ${(texts.length / dt).toFixed(1)} msg/s`);
    }
    const mps = seconds.map((s) => texts.length / s);
    runs.push({ batchSize: b, seconds, messagesPerSecond: mps, medianMessagesPerSecond: median(mps) });
  }
  const best = runs.reduce((a, r) => (r.medianMessagesPerSecond > a.medianMessagesPerSecond ? r : a));

  await classifier.dispose?.();
  const result = {
    peer: `transformers-js-${args.dtype}`,
    versions: {
      node: process.versions.node,
      "@huggingface/transformers": tjs?.version ?? null,
      "onnxruntime-node": ortNode?.version ?? null,
    },
    threads: args.threads,
    sessionOptions,
    dtype: args.dtype,
    modelFile: path.join(args.modelDir, layout.onnxFile),
    loadSeconds,
    messages: texts.length,
    maxLength: maxLen,
    truncatedTexts,
    runs,
    best: { batchSize: best.batchSize, medianMessagesPerSecond: best.medianMessagesPerSecond },
    firstResultsBatchSize: 1,
    firstResults,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => {
  log(err?.stack ?? String(err));
  process.exit(1);
});
