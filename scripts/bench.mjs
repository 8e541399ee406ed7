#!/usr/bin/env node
// Runs every compiled benchmark under dist/bench (each prints its own table), or the ones named,
// passing the flags on to each:
//   node scripts/bench.mjs [name ...] [--flag value ...]
//   e.g. `npm run bench -- inference --data path/to/umsab/test.jsonl`
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "dist/bench");
const args = process.argv.slice(2);
const firstFlag = args.findIndex((a) => a.startsWith("--"));
const wanted = firstFlag < 0 ? args : args.slice(0, firstFlag);
const flags = firstFlag < 0 ? [] : args.slice(firstFlag);
const all = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith(".bench.js"))
      .sort()
  : [];
const chosen = wanted.length ? all.filter((f) => wanted.some((w) => f.startsWith(w))) : all;
if (chosen.length === 0) {
  process.stderr.write(`no benchmark matches ${wanted.join(" ") || "(any)"}; found: ${all.join(", ") || "none"}\n`);
  process.exit(1);
}
for (const file of chosen) {
  process.stderr.write(`== ${file}\n`);
  const { status } = spawnSync(process.execPath, [join(dir, file), ...flags], { stdio: "inherit" });
  if (status !== 0) process.exit(status ?? 1);
}
