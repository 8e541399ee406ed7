/**
 * The language accuracy of `sentiment-worker run` itself: strips the language field from a labelled
 * JSONL file (UMSAB's test split, or the corpus), runs the worker on it in file mode (the small
 * fixture model: the language does not depend on the model), and compares each event's `lang`
 * with the label. Prints accuracy per language, the macro over UMSAB's seven non-Hindi languages,
 * Hindi apart, and the same for texts of at least 20 characters.
 *
 *   npm run build && node dist/bench/langid/run-accuracy.js --data path/to/umsab/test.jsonl
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dirname, "../../..");
const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: process.env.SW_BENCH_DATA },
    "model-dir": { type: "string", default: join(root, "test/fixtures/models/tiny") },
    goal: { type: "string", default: "0.95" },
  },
});
if (!args.data) throw new Error("pass --data <labelled jsonl> (or SW_BENCH_DATA)");

interface Item {
  id: string;
  lang: string;
  text: string;
}
const items = readFileSync(args.data, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Item);
const dir = mkdtempSync(join(tmpdir(), "sw-langid-"));
try {
  const input = join(dir, "input.jsonl");
  const output = join(dir, "events.jsonl");
  // Only id and text: the worker sees what a feed without a language field gives it.
  writeFileSync(input, items.map((i) => JSON.stringify({ id: i.id, text: i.text })).join("\n"));
  const run = spawnSync(
    process.execPath,
    [
      join(root, "dist/src/cli/main.js"),
      "run",
      "--model.dir",
      args["model-dir"] as string,
      "--input.path",
      input,
      "--output.path",
      output,
    ],
    { encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`run failed (${run.status}): ${run.stderr}`);
  const found = new Map<string, { lang?: string; langSource?: string }>();
  for (const line of readFileSync(output, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as { id: string; lang?: string; langSource?: string };
    found.set(event.id, event);
  }

  const table = (keep: (i: Item) => boolean) => {
    const hits = new Map<string, [number, number, number]>();
    for (const item of items) {
      if (!keep(item)) continue;
      const h = hits.get(item.lang) ?? [0, 0, 0];
      const event = found.get(item.id);
      if (event?.langSource !== "detected" && event !== undefined) throw new Error(`${item.id}: lang not detected`);
      if (event?.lang === item.lang) h[0]++;
      else if (event?.lang === "und") h[2]++;
      h[1]++;
      hits.set(item.lang, h);
    }
    return hits;
  };
  const langs = [...new Set(items.map((i) => i.lang))].sort();
  const main = langs.filter((l) => l !== "hi" && l !== "xx");
  const print = (title: string, keep: (i: Item) => boolean) => {
    const hits = table(keep);
    const acc = (l: string) => {
      const [ok, n] = hits.get(l) ?? [0, 0];
      return n ? ok / n : Number.NaN;
    };
    const measured = main.filter((l) => (hits.get(l)?.[1] ?? 0) > 0);
    const macro = measured.reduce((s, l) => s + acc(l), 0) / measured.length;
    console.log(`\n${title}`);
    console.log("| lang | texts | right % | und % |");
    console.log("| --- | ---: | ---: | ---: |");
    for (const l of langs) {
      const [ok, n, und] = hits.get(l) ?? [0, 0, 0];
      if (n) console.log(`| ${l} | ${n} | ${((100 * ok) / n).toFixed(1)} | ${((100 * und) / n).toFixed(1)} |`);
    }
    console.log(
      `macro over ${measured.join(" ")}: ${(100 * macro).toFixed(1)}% (goal ${(100 * Number(args.goal)).toFixed(0)}%: ${macro >= Number(args.goal) ? "met" : "NOT met"})`,
    );
    if (hits.has("hi")) {
      // What the romanised, code-mixed Hindi of UMSAB comes out as: not tuned to, only shown.
      const as = new Map<string, number>();
      for (const item of items) {
        if (item.lang !== "hi" || !keep(item)) continue;
        const l = found.get(item.id)?.lang ?? "(none)";
        as.set(l, (as.get(l) ?? 0) + 1);
      }
      const top = [...as].sort((a, b) => b[1] - a[1]).slice(0, 4);
      const n = hits.get("hi")?.[1] ?? 1;
      console.log(
        `hi apart (romanised, code-mixed in UMSAB): ${(100 * acc("hi")).toFixed(1)}% right; detected as ${top.map(([l, c]) => `${l} ${((100 * c) / n).toFixed(0)}%`).join(", ")}`,
      );
    }
  };
  console.log(`${items.length} texts, language field stripped; ${found.size} events from \`sentiment-worker run\``);
  print("all texts", () => true);
  print("texts of at least 20 characters", (i) => i.text.trim().length >= 20);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
