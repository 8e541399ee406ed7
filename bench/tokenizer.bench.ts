/**
 * Tokenizer choice: parity with the Python reference on the committed corpus, and speed on real
 * traffic: ours (`TextTokenizer.encodeAll` a chunk of 256 at a time: the JavaScript BERT encoder,
 * `wordpiece.ts`), the official Rust binding `tokenizers` alone (`encodeBatch` on libuv's thread
 * pool; what ours falls back to for other tokenizer shapes), and @huggingface/tokenizers (pure JS,
 * the tokenizer of transformers.js, the peer; it has no truncation, so the peer's ids are cut here
 * the same way). CPU is the process's, every thread, per text, and the event loop's share.
 *
 *   npm run build && node dist/bench/tokenizer.bench.js --data path/to/umsab/test.jsonl [--model-dir DIR]
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Tokenizer as JsTokenizer } from "@huggingface/tokenizers";
import { TextTokenizer } from "../src/inference/tokenizer.js";
import { fmt, markdownTable, median } from "./stats.js";

const root = resolve(import.meta.dirname, "../..");
const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: process.env.SW_BENCH_DATA },
    "model-dir": { type: "string", default: join(root, ".cache/models/full-random") },
    repeat: { type: "string", default: "5" },
  },
});
if (!args.data) throw new Error("pass --data <jsonl> (or SW_BENCH_DATA)");
const dir = resolve(args["model-dir"] as string);
const CHUNK = 256;

const json = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
/** The peer, with [CLS] … [SEP] around the text's own tokens cut to the budget (as `truncation=True`). */
function jsPeer(modelDir: string, maxLength: number) {
  const tokenizer = new JsTokenizer(
    json(join(modelDir, "tokenizer.json")),
    json(join(modelDir, "tokenizer_config.json")),
  );
  const withSpecials = tokenizer.encode("", { add_special_tokens: true }).ids;
  const [cls, sep] = [withSpecials[0] as number, withSpecials[withSpecials.length - 1] as number];
  return (text: string) => [
    cls,
    ...tokenizer.encode(text, { add_special_tokens: false }).ids.slice(0, maxLength - 2),
    sep,
  ];
}

const ours = TextTokenizer.fromFile(join(dir, "tokenizer.json"), 512);
const rust = TextTokenizer.fromFile(join(dir, "tokenizer.json"), 512, { rustOnly: true });
const peer = jsPeer(dir, 512);

// Parity on the committed corpus (the reference ids come from the tiny fixture's tokenizer).
const tiny = join(root, "test/fixtures/models/tiny");
const parity = JSON.parse(readFileSync(join(root, "test/fixtures/parity/tiny.json"), "utf8")) as {
  items: Array<{ text: string; ids: number[] }>;
};
const corpus = parity.items.map((i) => i.text);
const oursTiny = await TextTokenizer.fromFile(join(tiny, "tokenizer.json"), 512).encodeAll(corpus);
const rustTiny = await TextTokenizer.fromFile(join(tiny, "tokenizer.json"), 512, { rustOnly: true }).encodeAll(corpus);
const peerTiny = jsPeer(tiny, 512);
let oursSame = 0;
let rustSame = 0;
let peerSame = 0;
for (const [k, item] of parity.items.entries()) {
  const want = JSON.stringify(item.ids);
  if (JSON.stringify(oursTiny[k]?.ids) === want) oursSame++;
  if (JSON.stringify(rustTiny[k]?.ids) === want) rustSame++;
  if (JSON.stringify(peerTiny(item.text)) === want) peerSame++;
}

const texts = readFileSync(args.data, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => (JSON.parse(l) as { text: string }).text);
interface Run {
  rate: number;
  /** The process's CPU, every thread, µs per text. */
  cpu: number;
  /** The event loop's busy µs per text (what tokenizing takes from Kafka and Redis). */
  loop: number;
}
/** One pass of a library over the texts. */
const pass = async (fn: () => Promise<unknown> | unknown) => {
  const start = performance.now();
  const before = performance.eventLoopUtilization();
  const cpuBefore = process.cpuUsage();
  await fn();
  const cpu = process.cpuUsage(cpuBefore);
  const used = performance.eventLoopUtilization(before);
  return {
    rate: texts.length / ((performance.now() - start) / 1000),
    cpu: (cpu.user + cpu.system) / texts.length,
    loop: (used.active * 1000) / texts.length,
  };
};
const libraries: Array<[string, () => Promise<unknown> | unknown]> = [
  [
    "ours",
    async () => {
      for (let i = 0; i < texts.length; i += CHUNK) await ours.encodeAll(texts.slice(i, i + CHUNK));
    },
  ],
  [
    "rust",
    async () => {
      for (let i = 0; i < texts.length; i += CHUNK) await rust.encodeAll(texts.slice(i, i + CHUNK));
    },
  ],
  [
    "peer",
    () => {
      for (const t of texts) peer(t);
    },
  ],
];
// Interleaved passes (each library once, then again), so drift on a shared machine spreads over all.
const passes = new Map<string, Run[]>(libraries.map(([name]) => [name, []]));
for (let i = 0; i < Number(args.repeat); i++) {
  for (const [name, fn] of libraries) passes.get(name)?.push(await pass(fn));
}
const medianRun = (name: string): Run => {
  const runs = passes.get(name) ?? [];
  return {
    rate: median(runs.map((r) => r.rate)),
    cpu: median(runs.map((r) => r.cpu)),
    loop: median(runs.map((r) => r.loop)),
  };
};
const [oursRun, rustRun, peerRun] = ["ours", "rust", "peer"].map(medianRun) as [Run, Run, Run];
const row = (name: string, same: number, run: Run) => [
  name,
  `${same}/${n}`,
  fmt(run.rate),
  fmt(run.cpu, 1),
  fmt(run.loop, 1),
];

const n = parity.items.length;
process.stdout.write(
  [
    `Texts: ${texts.length} from ${args.data}; tokenizer ${dir}; medians of ${args.repeat} runs.`,
    "",
    ...markdownTable(
      ["library", "parity (corpus)", "texts/s", "CPU µs per text (all threads)", "event-loop µs per text"],
      [
        row(`ours: the JavaScript BERT encoder (encodeAll of ${CHUNK}, ${ours.encoder})`, oursSame, oursRun),
        row(`tokenizers (Rust binding, encodeBatch of ${CHUNK}; ours for other shapes)`, rustSame, rustRun),
        row("@huggingface/tokenizers (pure JS, transformers.js's)", peerSame, peerRun),
        [
          "ratio ours ÷ Rust binding",
          "",
          fmt(oursRun.rate / rustRun.rate, 2),
          fmt(oursRun.cpu / rustRun.cpu, 2),
          fmt(oursRun.loop / rustRun.loop, 2),
        ],
        [
          "ratio ours ÷ peer",
          "",
          fmt(oursRun.rate / peerRun.rate, 2),
          fmt(oursRun.cpu / peerRun.cpu, 2),
          fmt(oursRun.loop / peerRun.loop, 2),
        ],
      ],
      ["left", "right", "right", "right", "right"],
    ),
    "",
  ].join("\n"),
);
