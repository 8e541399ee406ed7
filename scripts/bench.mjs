#!/usr/bin/env node
// Runs every compiled benchmark under dist/bench (each prints its own table), or the ones named:
//   node scripts/bench.mjs [name ...]      e.g. `npm run bench -- inference`
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "dist/bench");
const wanted = process.argv.slice(2);
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
  const { status } = spawnSync(process.execPath, [join(dir, file)], { stdio: "inherit" });
  if (status !== 0) process.exit(status ?? 1);
}
