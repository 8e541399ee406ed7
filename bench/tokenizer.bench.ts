/**
 * Tokenizer choice: parity with the Python reference on the committed corpus, and speed on real
 * traffic, for the two libraries that read tokenizer.json: @huggingface/tokenizers (pure JS, the
 * one we ship) and `tokenizers` (the official Rust binding, a 64 MB package of native binaries).
 *
 *   npm run build && node dist/bench/tokenizer.bench.js --data path/to/umsab/test.jsonl [--model-dir DIR]
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Tokenizer as NativeTokenizer } from "tokenizers";
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

const ours = TextTokenizer.fromFiles(join(dir, "tokenizer.json"), join(dir, "tokenizer_config.json"), 512);
const native = NativeTokenizer.fromFile(join(dir, "tokenizer.json"));
native.setTruncation(512);

// Parity on the committed corpus (the reference ids come from the tiny fixture's tokenizer).
const tiny = join(root, "test/fixtures/models/tiny");
const parity = JSON.parse(readFileSync(join(root, "test/fixtures/parity/tiny.json"), "utf8")) as {
  items: Array<{ text: string; ids: number[] }>;
};
const oursTiny = TextTokenizer.fromFiles(join(tiny, "tokenizer.json"), join(tiny, "tokenizer_config.json"), 512);
const nativeTiny = NativeTokenizer.fromFile(join(tiny, "tokenizer.json"));
nativeTiny.setTruncation(512);
let oursSame = 0;
let nativeSame = 0;
for (const item of parity.items) {
  const want = JSON.stringify(item.ids);
  if (JSON.stringify(oursTiny.encode(item.text).ids) === want) oursSame++;
  if (JSON.stringify((await nativeTiny.encode(item.text)).getIds()) === want) nativeSame++;
}

const texts = readFileSync(args.data, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => (JSON.parse(l) as { text: string }).text);
const rate = async (fn: () => Promise<unknown> | unknown) => {
  const runs: number[] = [];
  for (let i = 0; i < Number(args.repeat); i++) {
    const start = performance.now();
    await fn();
    runs.push(texts.length / ((performance.now() - start) / 1000));
  }
  return median(runs);
};
const oursRate = await rate(() => {
  for (const t of texts) ours.encode(t);
});
const nativeOne = await rate(async () => {
  for (const t of texts) await native.encode(t);
});
const nativeBatch = await rate(async () => {
  for (let i = 0; i < texts.length; i += 256) await native.encodeBatch(texts.slice(i, i + 256));
});

const n = parity.items.length;
process.stdout.write(
  [
    `Texts: ${texts.length} from ${args.data}; tokenizer ${dir}; medians of ${args.repeat} runs.`,
    "",
    ...markdownTable(
      ["library", "parity (corpus)", "texts/s"],
      [
        ["@huggingface/tokenizers (ours, + our truncation)", `${oursSame}/${n}`, fmt(oursRate)],
        ["tokenizers (Rust binding), encode one by one", `${nativeSame}/${n}`, fmt(nativeOne)],
        ["tokenizers (Rust binding), encodeBatch of 256", `${nativeSame}/${n}`, fmt(nativeBatch)],
      ],
      ["left", "right", "right"],
    ),
    "",
  ].join("\n"),
);
