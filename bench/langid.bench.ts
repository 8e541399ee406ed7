/**
 * Language identification: which library, measured. For each candidate, on the UMSAB test split
 * (real tweets, 8 languages) and the project's 12-language corpus: accuracy per language, the
 * macro over UMSAB's seven non-Hindi languages (its Hindi is mostly romanised and code-mixed:
 * reported apart, not tuned to), the corpus macro for texts of at least 20 characters, what happens
 * to short texts, CPU µs per message (median of interleaved repeats), memory after load (a child
 * process per candidate), and installed size with dependencies.
 *
 *   npm install --no-save eld cld3-asm franc franc-min tinyld   # the candidates (eld is a dependency)
 *   npm run build && node dist/bench/langid.bench.js --data path/to/umsab/test.jsonl [--repeat 5]
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { cleanForDetection } from "../src/language/clean.js";
import { type Candidate, loadCandidates } from "./langid/candidates.js";

const root = resolve(import.meta.dirname, "../..");
const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: process.env.SW_BENCH_DATA },
    corpus: { type: "string", default: join(root, "test/fixtures/corpus/parity-corpus.jsonl") },
    repeat: { type: "string", default: "5" },
    only: { type: "string", multiple: true },
    "memory-of": { type: "string" },
    raw: { type: "boolean", default: false },
  },
});

const MIN_CHARS = 20;
const UMSAB_MAIN = ["ar", "de", "en", "es", "fr", "it", "pt"];

// Child mode: load one candidate, touch it once, report memory (the parent compares with a bare child).
if (args["memory-of"] !== undefined) {
  const name = args["memory-of"];
  const candidates = name === "none" ? [] : await loadCandidates([name]);
  for (const c of candidates) for (const t of ["Hello world, how are you today?", "مرحبا", "こんにちは"]) c.detect(t);
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  process.stdout.write(JSON.stringify({ rss: m.rss, heap: m.heapUsed + m.external + m.arrayBuffers }));
  process.exit(0);
}

if (!args.data) throw new Error("pass --data <umsab test.jsonl> (or SW_BENCH_DATA)");
interface Item {
  lang: string;
  text: string;
}
const read = (path: string): Item[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Item);
const prepare = (items: Item[]) =>
  items.map((i) => ({ lang: i.lang, text: args.raw ? i.text : cleanForDetection(i.text) }));
const umsab = prepare(read(args.data));
const corpus = prepare(read(args.corpus as string));

const candidates = await loadCandidates(args.only);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

/** Accuracy per language; `und` counts as wrong. */
function accuracy(c: Candidate, items: Item[], keep: (i: Item) => boolean): Map<string, number> {
  const hits = new Map<string, [number, number]>();
  for (const item of items) {
    if (!keep(item)) continue;
    const h = hits.get(item.lang) ?? [0, 0];
    if (c.detect(item.text).lang === item.lang) h[0]++;
    h[1]++;
    hits.set(item.lang, h);
  }
  return new Map([...hits].map(([lang, [ok, n]]) => [lang, ok / n]));
}
const macro = (acc: Map<string, number>, langs: readonly string[]) =>
  langs.reduce((s, l) => s + (acc.get(l) ?? 0), 0) / langs.length;

// CPU time per message over the UMSAB texts, candidates interleaved in each repeat.
const cpu = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
const texts = umsab.map((i) => i.text);
for (const c of candidates) for (const t of texts.slice(0, 500)) c.detect(t); // warm-up (JIT)
for (let r = 0; r < Number(args.repeat); r++) {
  for (const c of candidates) {
    const start = process.cpuUsage();
    for (const t of texts) c.detect(t);
    const used = process.cpuUsage(start);
    cpu.get(c.name)?.push((used.user + used.system) / texts.length);
  }
}

function memoryOf(name: string): { rss: number; heap: number } {
  const out = spawnSync(process.execPath, ["--expose-gc", import.meta.filename, "--memory-of", name], {
    encoding: "utf8",
  });
  return JSON.parse(out.stdout) as { rss: number; heap: number };
}

function dirSize(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, f) => sum + dirSize(join(path, f)), 0);
}
/** Installed size of a package and its dependencies (each counted once). */
function installedSize(pkg: string, seen = new Set<string>()): number {
  if (seen.has(pkg)) return 0;
  seen.add(pkg);
  const dir = join(root, "node_modules", pkg);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies?: object };
  let size = dirSize(dir);
  for (const dep of Object.keys(manifest.dependencies ?? {})) size += installedSize(dep, seen);
  return size;
}

const base = memoryOf("none");
const MB = 1024 * 1024;
const pct = (x: number | undefined) => (x === undefined ? "–" : (100 * x).toFixed(1));
const rows: string[] = [];
const perLang: string[] = [];
// The corpus's `xx` texts have no language (emoji, links, mixed): only the short-text column reads them.
const corpusLangs = [...new Set(corpus.map((i) => i.lang))].filter((l) => l !== "xx").sort();
const longLangs = corpusLangs.filter((l) => corpus.some((i) => i.lang === l && i.text.trim().length >= MIN_CHARS));
for (const c of candidates) {
  const u = accuracy(c, umsab, () => true);
  const u20 = accuracy(c, umsab, (i) => i.text.trim().length >= MIN_CHARS);
  const k = accuracy(c, corpus, (i) => i.text.trim().length >= MIN_CHARS);
  const kAll = accuracy(c, corpus, () => true);
  // Short texts (< 20 characters after cleaning) of both sets: how many are `und`, how many wrong.
  let short = 0;
  let und = 0;
  let wrong = 0;
  for (const item of [...umsab, ...corpus]) {
    if (item.text.trim().length >= MIN_CHARS) continue;
    short++;
    const g = c.detect(item.text).lang;
    if (g === "und") und++;
    else if (g !== item.lang) wrong++;
  }
  const m = memoryOf(c.name);
  rows.push(
    `| ${c.name} | ${pct(macro(u, UMSAB_MAIN))} | ${pct(macro(u20, UMSAB_MAIN))} | ${pct(u.get("hi"))} | ${pct(macro(k, longLangs))} | ${pct(macro(kAll, corpusLangs))} | ${pct(und / short)} / ${pct(wrong / short)} | ${median(cpu.get(c.name) ?? []).toFixed(1)} | ${((m.rss - base.rss) / MB).toFixed(0)} / ${((m.heap - base.heap) / MB).toFixed(0)} | ${(installedSize(c.pkg) / MB).toFixed(1)} |`,
  );
  perLang.push(
    `| ${c.name} | ${UMSAB_MAIN.map((l) => pct(u.get(l))).join(" | ")} | ${corpusLangs.map((l) => pct(kAll.get(l))).join(" | ")} |`,
  );
}

const shortCount = [...umsab, ...corpus].filter((i) => i.text.trim().length < MIN_CHARS).length;
console.log(
  `UMSAB ${umsab.length} tweets, corpus ${corpus.length} texts (${corpus.filter((i) => i.text.trim().length >= MIN_CHARS).length} of ≥ ${MIN_CHARS} chars), ${shortCount} short texts; ${args.raw ? "raw text" : "links and mentions removed"}; ${args.repeat} interleaved repeats, CPU µs median\n`,
);
console.log(
  `| candidate | UMSAB macro-7 % | UMSAB macro-7 ≥20 ch % | UMSAB hi % | corpus macro ≥20 ch (${longLangs.length} langs) % | corpus macro all (${corpusLangs.length}) % | short: und / wrong % | CPU µs/msg | RSS / heap MB | installed MB |`,
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) console.log(r);
console.log(
  `\nAccuracy per language (%): UMSAB ${UMSAB_MAIN.join(", ")}; corpus (all lengths) ${corpusLangs.join(", ")}\n`,
);
console.log(
  `| candidate | ${UMSAB_MAIN.map((l) => `U ${l}`).join(" | ")} | ${corpusLangs.map((l) => `C ${l}`).join(" | ")} |`,
);
console.log(`| --- |${" ---: |".repeat(UMSAB_MAIN.length + corpusLangs.length)}`);
for (const r of perLang) console.log(r);
