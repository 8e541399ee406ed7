/**
 * Tokenizer choice: parity with the Python reference on the committed corpus, and speed on real
 * traffic, for the two libraries that read tokenizer.json: `tokenizers` (the official Rust
 * binding, ours: `TextTokenizer.encodeAll`, a chunk of 256 per call on libuv's thread pool) and
 * @huggingface/tokenizers (pure JS, the tokenizer of transformers.js, the peer; it has no
 * truncation, so the peer's ids are cut here the same way).
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
const peer = jsPeer(dir, 512);

// Parity on the committed corpus (the reference ids come from the tiny fixture's tokenizer).
const tiny = join(root, "test/fixtures/models/tiny");
const parity = JSON.parse(readFileSync(join(root, "test/fixtures/parity/tiny.json"), "utf8")) as {
  items: Array<{ text: string; ids: number[] }>;
};
const oursTiny = await TextTokenizer.fromFile(join(tiny, "tokenizer.json"), 512).encodeAll(
  parity.items.map((i) => i.text),
);
const peerTiny = jsPeer(tiny, 512);
let oursSame = 0;
let peerSame = 0;
for (const [k, item] of parity.items.entries()) {
  const want = JSON.stringify(item.ids);
  if (JSON.stringify(oursTiny[k]?.ids) === want) oursSame++;
  if (JSON.stringify(peerTiny(item.text)) === want) peerSame++;
}

const texts = readFileSync(args.data, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => (JSON.parse(l) as { text: string }).text);
/** Texts per second and the event loop's busy µs per text (what tokenizing takes from Kafka and Redis), medians. */
const measure = async (fn: () => Promise<unknown> | unknown) => {
  const rates: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < Number(args.repeat); i++) {
    const start = performance.now();
    const before = performance.eventLoopUtilization();
    await fn();
    const used = performance.eventLoopUtilization(before);
    rates.push(texts.length / ((performance.now() - start) / 1000));
    cpu.push((used.active * 1000) / texts.length);
  }
  return { rate: median(rates), cpu: median(cpu) };
};
const oursRun = await measure(async () => {
  for (let i = 0; i < texts.length; i += CHUNK) await ours.encodeAll(texts.slice(i, i + CHUNK));
});
const peerRun = await measure(() => {
  for (const t of texts) peer(t);
});

const n = parity.items.length;
process.stdout.write(
  [
    `Texts: ${texts.length} from ${args.data}; tokenizer ${dir}; medians of ${args.repeat} runs.`,
    "",
    ...markdownTable(
      ["library", "parity (corpus)", "texts/s", "event-loop µs per text"],
      [
        [
          `tokenizers (Rust binding; ours, encodeAll of ${CHUNK})`,
          `${oursSame}/${n}`,
          fmt(oursRun.rate),
          fmt(oursRun.cpu, 1),
        ],
        [
          "@huggingface/tokenizers (pure JS, transformers.js's)",
          `${peerSame}/${n}`,
          fmt(peerRun.rate),
          fmt(peerRun.cpu, 1),
        ],
        ["ratio ours ÷ peer", "", fmt(oursRun.rate / peerRun.rate, 2), fmt(oursRun.cpu / peerRun.cpu, 2)],
      ],
      ["left", "right", "right", "right"],
    ),
    "",
  ].join("\n"),
);
