#!/usr/bin/env node
/**
 * Builds src/language/id-ms-ngrams.ts, the data of the Indonesian/Malay discriminator
 * (src/language/id-ms.ts), from the character n-gram models of Lingua 1.4.2 (Peter M. Stahl,
 * Apache-2.0; trained on the news corpora of the Leipzig Wortschatz collection). Not run by the
 * build or CI: its output is committed. To regenerate it (no Python needed, only the wheel):
 *
 *   pip download lingua-language-detector==1.4.2 --no-deps -d /tmp/lingua
 *   node tools/langid/build-id-ms.mjs /tmp/lingua/lingua_language_detector-1.4.2-py3-none-any.whl
 *   npx biome format --write src/language/id-ms-ngrams.ts
 *
 * Lingua stores, per language and n = 1..5, each n-gram seen inside words with its conditional
 * probability P(last letter | the n-1 before it) as a fraction (`lingua/language-models/<iso>/
 * <n>grams.json.br`, Brotli-compressed JSON). Read as a Markov chain over the letters of a word,
 * each letter gets log P_id − log P_ms from the longest context both or either model knows (the
 * model that lacks it backs off to a shorter context at a cost of BACKOFF nats per step). What is
 * written is that difference per n-gram, in steps of STEP nats, for the n-grams of the letters a–z
 * whose difference is not already given, within PRUNE nats, by the shorter n-gram it would back
 * off to at run time, and that are not rare in both languages (MIN_LOG_PROB).
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync, inflateRawSync } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WHEEL_SHA256 = "f43ce6e7b8b9ec083907c34fc1bf5d5bacee7fb3191afa90efb3b321e5a85953";
const ORDERS = ["unigrams", "bigrams", "trigrams", "quadrigrams", "fivegrams"];
/** Nats a model pays for each step down to a shorter context it knows. */
const BACKOFF = 1;
/** log P of a letter neither model has seen at all. */
const FLOOR = -14;
/** Resolution of the stored differences, and their bound. */
const STEP = 0.1;
const BOUND = 8;
/** An n-gram whose difference is within this of its shorter suffix's is left out. */
const PRUNE = 0.25;
/** An n-gram whose chained probability is below e^MIN_LOG_PROB in both languages is left out. */
const MIN_LOG_PROB = -12;

/** The files of a zip archive (stored or deflated entries), by name. */
function unzip(buffer, wanted) {
  const files = new Map();
  let end = buffer.length - 22;
  while (end >= 0 && buffer.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error("not a zip archive");
  const count = buffer.readUInt16LE(end + 10);
  let at = buffer.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    const method = buffer.readUInt16LE(at + 10);
    const size = buffer.readUInt32LE(at + 20);
    const nameLength = buffer.readUInt16LE(at + 28);
    const extra = buffer.readUInt16LE(at + 30) + buffer.readUInt16LE(at + 32);
    const local = buffer.readUInt32LE(at + 42);
    const name = buffer.toString("utf8", at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extra;
    if (!wanted(name)) continue;
    const start = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
    const raw = buffer.subarray(start, start + size);
    files.set(name, method === 0 ? raw : inflateRawSync(raw));
  }
  return files;
}

/** One language's models: for n = 1..5, n-gram → log conditional probability. */
function model(files, iso) {
  return ORDERS.map((order) => {
    const file = files.get(`lingua/language-models/${iso}/${order}.json.br`);
    if (!file) throw new Error(`the wheel has no ${iso} ${order}`);
    const { ngrams } = JSON.parse(brotliDecompressSync(file).toString("utf8"));
    const table = new Map();
    for (const [fraction, list] of Object.entries(ngrams)) {
      const [numerator, denominator] = fraction.split("/").map(Number);
      for (const gram of list.split(" ")) table.set(gram, Math.log(numerator / denominator));
    }
    return table;
  });
}

/** log P(last letter of gram | the letters before it), backing off to shorter contexts. */
function logProb(m, gram) {
  for (let k = gram.length, cost = 0; k >= 1; k--, cost += BACKOFF) {
    const p = m[k - 1].get(gram.slice(gram.length - k));
    if (p !== undefined) return p - cost;
  }
  return FLOOR;
}

/** log P of the whole n-gram as a chain (its first letters with shorter contexts). */
function chained(m, gram) {
  let sum = 0;
  for (let i = 1; i <= gram.length; i++) sum += logProb(m, gram.slice(0, i));
  return sum;
}

const wheelPath = process.argv[2];
if (!wheelPath)
  throw new Error("usage: node tools/langid/build-id-ms.mjs <lingua_language_detector-1.4.2-py3-none-any.whl>");
const wheel = readFileSync(wheelPath);
const sha = createHash("sha256").update(wheel).digest("hex");
if (sha !== WHEEL_SHA256) throw new Error(`the wheel's sha256 is ${sha}, not 1.4.2's ${WHEEL_SHA256}`);
const files = unzip(wheel, (name) => /^lingua\/language-models\/(id|ms)\/[a-z]+grams\.json\.br$/.test(name));
const id = model(files, "id");
const ms = model(files, "ms");

const quantize = (d) => Math.round(Math.max(-BOUND, Math.min(BOUND, d)) / STEP);
/** What run time gives for a gram: the stored difference of its longest stored suffix, else 0. */
const kept = new Map();
const atRunTime = (gram) => {
  for (let k = gram.length; k >= 1; k--) {
    const q = kept.get(gram.slice(gram.length - k));
    if (q !== undefined) return q;
  }
  return 0;
};
let candidates = 0;
for (let n = 1; n <= 5; n++) {
  const grams = new Set([...id[n - 1].keys(), ...ms[n - 1].keys()].filter((g) => /^[a-z]+$/.test(g)));
  for (const gram of [...grams].sort()) {
    candidates++;
    if (Math.max(chained(id, gram), chained(ms, gram)) < MIN_LOG_PROB) continue;
    const q = quantize(logProb(id, gram) - logProb(ms, gram));
    const fallback = n === 1 ? 0 : atRunTime(gram.slice(1));
    if (Math.abs(q - fallback) * STEP < PRUNE) continue;
    kept.set(gram, q);
  }
}

// One line per value: "<value in STEPs> <gram> <gram> …", grams sorted, values ascending.
const byValue = new Map();
for (const [gram, q] of kept) byValue.set(q, [...(byValue.get(q) ?? []), gram]);
const lines = [...byValue.keys()].sort((a, b) => a - b).map((q) => `${q} ${byValue.get(q).sort().join(" ")}`);
const out = join(root, "src/language/id-ms-ngrams.ts");
writeFileSync(
  out,
  `/**
 * Generated by tools/langid/build-id-ms.mjs from Lingua 1.4.2's Indonesian and Malay n-gram models
 * (lingua-language-detector on PyPI, Apache-2.0, © Peter M. Stahl; wheel sha256 ${sha.slice(0, 16)}…).
 * Do not edit: regenerate. ${kept.size} n-grams of a–z (of ${candidates}), one line per value:
 * the value in steps of ${STEP} nats (log P Indonesian − log P Malay of the last letter given the
 * others), then the n-grams. Read by id-ms.ts.
 */
export const ID_MS_STEP = ${STEP};
export const ID_MS_NGRAMS = ${JSON.stringify(lines.join("\n"))};
`,
);
process.stdout.write(`${out}: ${kept.size} n-grams of ${candidates}, ${lines.join("\n").length} characters\n`);
