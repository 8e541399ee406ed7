#!/usr/bin/env node
// The test command: runs the compiled tests with node's test runner.
//
//   node scripts/test.mjs [unit|integration|all]   (default all; `npm test` builds first)
//
// Integration tests need Kafka and Redis, and the schema-registry tests a registry. With
// KAFKA_BROKERS, REDIS_URL and SCHEMA_REGISTRY_URL set they are used; else, with
// SWDEV_TEST_SERVICES=testcontainers, each test file starts Kafka and Redis as containers from the
// local images; else this script starts the missing ones locally (scripts/services.mjs), and stops
// afterwards those it started. The container tests (test/integration/container-*.test.ts,
// testcontainers.test.ts) use podman's service when `scripts/containers.mjs service up` runs it,
// and skip, saying how to enable them, when no engine answers.
// The last line printed is the summary: `N passed, N failed, N skipped`.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// The tests run on the Node that package.json's engines and .node-version name, not an older one.
const wanted = readFileSync(join(root, ".node-version"), "utf8").trim();
if (Number(process.versions.node.split(".")[0]) < Number(wanted.split(".")[0])) {
  process.stderr.write(
    `the tests need Node ${wanted.split(".")[0]} or newer; this is ${process.versions.node} (${process.execPath}).\n` +
      `Put the project's Node first on PATH (fetched from the npm registry into .cache/node once), then again:\n` +
      `  PATH="$(node scripts/node-runtime.mjs path):$PATH" && npm ci && npm test\n`,
  );
  process.exit(1);
}
const services = join(root, "scripts/services.mjs");
const suite = process.argv[2] ?? "all";
const folders = { unit: ["unit"], integration: ["integration"], all: ["unit", "integration"] }[suite];
if (!folders) {
  process.stderr.write("usage: node scripts/test.mjs [unit|integration|all]\n");
  process.exit(2);
}

function testFiles(folder) {
  const dir = join(root, "dist/test", folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith(".test.js"))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * When `node scripts/containers.mjs service up` runs podman's API service, its settings
 * (DOCKER_HOST, …) for the container tests, unless the environment names an engine already.
 */
function containerEngineEnv(env) {
  if (env.DOCKER_HOST) return;
  const status = spawnSync(process.execPath, [join(root, "scripts/containers.mjs"), "service", "status"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  if (status.status !== 0) return;
  for (const line of status.stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0 && env[line.slice(0, eq)] === undefined) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
}

/** Each local service and the variable that names it to the tests. */
const SERVICE_VARS = { kafka: "KAFKA_BROKERS", redis: "REDIS_URL", registry: "SCHEMA_REGISTRY_URL" };
/** The prefix of every setting `up` prints for a service (Kafka's secured listeners too). */
const SERVICE_PREFIXES = { kafka: "KAFKA_", redis: "REDIS_", registry: "SCHEMA_REGISTRY_" };

/**
 * Starts the local services the environment does not name (Kafka and Redis unless Docker provides
 * them; the schema registry, which has no container image, always); returns a function that stops
 * those this run started (not one that already ran, e.g. for someone else's tests).
 */
function provideServices(env) {
  // Opt-in: every test file starts its own Kafka and Redis containers (test/helpers/services.ts).
  const fromContainers = env.SWDEV_TEST_SERVICES === "testcontainers" ? ["kafka", "redis"] : [];
  const missing = Object.keys(SERVICE_VARS).filter((k) => !env[SERVICE_VARS[k]] && !fromContainers.includes(k));
  if (missing.length === 0) return () => {};
  const before = spawnSync(process.execPath, [services, "status"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const wasRunning = new Set(missing.filter((k) => new RegExp(`^${SERVICE_VARS[k]}=`, "m").test(before.stdout)));
  const up = spawnSync(process.execPath, [services, "up", ...missing], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (up.status !== 0) {
    // `up` already stopped what it started; its own message (above) says what went wrong.
    process.stderr.write(`could not start the local ${missing.join(", ")} (scripts/services.mjs up)\n`);
    process.exit(1);
  }
  // Only the settings of the services asked for (`up` prints those of every one that runs: a local
  // Kafka must not replace the containers of SWDEV_TEST_SERVICES=testcontainers).
  const asked = new RegExp(`^(?:${missing.map((k) => SERVICE_PREFIXES[k]).join("|")})`);
  for (const line of up.stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0 && asked.test(line)) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const started = missing.filter((k) => !wasRunning.has(k));
  return () => {
    if (started.length > 0) spawnSync(process.execPath, [services, "down", ...started], { stdio: ["ignore", 2, 2] });
  };
}

function summarise(tapFile) {
  const tap = existsSync(tapFile) ? readFileSync(tapFile, "utf8") : "";
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(tap)?.[1] ?? 0);
  return {
    passed: count("pass"),
    failed: count("fail") + count("cancelled"),
    skipped: count("skipped") + count("todo"),
  };
}

const files = folders.flatMap(testFiles);
if (files.length === 0) {
  process.stderr.write("no compiled tests under dist/test: run `npm run build` first\n");
  process.exit(1);
}
const env = { ...process.env };
containerEngineEnv(env);
const stopServices = folders.includes("integration") ? provideServices(env) : () => {};
const tapFile = join(mkdtempSync(join(tmpdir(), "sw-test-")), "report.tap");
const runner = spawn(
  process.execPath,
  [
    "--test",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { env, stdio: "inherit" },
);
// Ctrl-C or a CI timeout: end the runner, then stop the services below as on a normal end.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => runner.kill(signal));
const exitCode = await new Promise((res) => runner.on("exit", (code, signal) => res(code ?? (signal ? 1 : 0))));
stopServices();
const { passed, failed, skipped } = summarise(tapFile);
process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(exitCode !== 0 || failed > 0 || passed === 0 ? 1 : 0);
