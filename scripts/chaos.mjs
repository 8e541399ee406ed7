#!/usr/bin/env node
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
// Soak run under chaos (not in CI): its own Kafka broker and Redis (scripts/services.mjs in a temp
// SWDEV_SERVICES_DIR, via the compiled test/helpers/chaos-services), three worker processes
// (exactly-once, or --delivery at-least-once; Redis de-duplication, the tiny fixture model) on a
// 12-partition topic, traffic at a constant rate, a worker SIGKILLed or SIGTERMed (alternately, in
// turn) every --kill-every seconds, Redis SIGKILLed and restarted once (a third in) and the broker
// once (two thirds in).
// After --minutes it stops the chaos, waits for the group to catch up, reads the output as an
// exact read_committed reader and prints a table; exit 1 when a message was lost, or doubled under
// exactly-once (at-least-once may repeat what a killed worker wrote before its offset commit).
//
//   npm run build && npm run chaos -- --minutes 10 [--data path/to/umsab/train.jsonl]
//     [--rate 150] [--kill-every 20] [--delivery at-least-once]
//
// --data: JSONL with `text` (and `lang`) per line, e.g. UMSAB; else the fixture corpus. Each
// message gets its own id, so a text sent twice is still two messages. Everything started is
// stopped by pid on any end, Ctrl-C included; worker logs stay in the directory printed first.
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const helpers = join(root, "dist/test/helpers");
if (!existsSync(join(helpers, "chaos-workers.js")) || !existsSync(join(root, "dist/src/cli/main.js"))) {
  process.stderr.write("chaos: run `npm run build` first (it needs dist/src and dist/test/helpers)\n");
  process.exit(2);
}
const { startIsolatedServices } = await import(join(helpers, "chaos-services.js"));
const { WorkerFleet, Traffic, tally } = await import(join(helpers, "chaos-workers.js"));
const { readCommittedExactly } = await import(join(helpers, "chaos-read.js"));
const { workerFlags, eventIds } = await import(join(helpers, "worker-setup.js"));
const { KafkaTestClient } = await import(join(helpers, "kafka.js"));
const { tinyTexts } = await import(join(helpers, "fixtures.js"));
const { uniqueName } = await import(join(helpers, "names.js"));

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    data: { type: "string" },
    rate: { type: "string", default: "150" },
    "kill-every": { type: "string", default: "20" },
    delivery: { type: "string", default: "exactly-once" },
  },
});
const atLeastOnce = args.delivery === "at-least-once";
if (!atLeastOnce && args.delivery !== "exactly-once") {
  process.stderr.write("chaos: --delivery is exactly-once or at-least-once\n");
  process.exit(2);
}
const minutes = Number(args.minutes);
const rate = Number(args.rate);
const killEveryMs = Number(args["kill-every"]) * 1000;
if (!(minutes > 0 && rate > 0 && killEveryMs > 0)) {
  process.stderr.write("chaos: --minutes, --rate and --kill-every must be positive numbers\n");
  process.exit(2);
}

const log = (msg) => process.stderr.write(`chaos ${new Date().toISOString().slice(11, 19)} ${msg}\n`);

function loadPosts(path) {
  if (!path) return tinyTexts().map((text) => ({ text }));
  // Blank texts would be dead letters (EMPTY_TEXT), not events: left out so "lost" stays exact.
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line))
    .filter((p) => typeof p.text === "string" && p.text.trim())
    .map((p) => ({ text: p.text, ...(typeof p.lang === "string" ? { lang: p.lang } : {}) }));
}

const posts = loadPosts(args.data);
const logDir = mkdtempSync(join(tmpdir(), "sw-soak-"));
log(`${posts.length} texts from ${args.data ?? "the fixture corpus"}; ${rate}/s for ${minutes} min; logs in ${logDir}`);

let own;
let client;
let fleet;
let traffic;
let cleaning;
/** Stops what this run started (the fleet by pid, the services by their state); safe to call twice. */
function cleanup() {
  cleaning ??= (async () => {
    await traffic?.stop().catch(() => {});
    await fleet?.stop(15_000).catch(() => {});
    await client?.close().catch(() => {});
    await own?.stop().catch((e) => log(`stopping the services: ${e.message}`));
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    log(`${signal}: stopping everything`);
    cleanup().finally(() => process.exit(130));
  });
}

const mib = (kb) => (kb === undefined ? "-" : (kb / 1024).toFixed(0));

async function main() {
  log("starting an isolated Kafka broker and Redis");
  own = await startIsolatedServices({ kafka: true, redis: true });
  log(`broker ${own.brokers}, redis ${own.redisUrl}, state ${own.dir}`);
  client = new KafkaTestClient([own.brokers]);
  await client.connect();
  const input = await client.createTopic("posts", 12);
  const output = await client.createTopic("sentiment", 3);
  const dlq = await client.createTopic("dead-letters", 1);
  const groupId = uniqueName("soak");
  fleet = new WorkerFleet(
    workerFlags(
      { brokers: own.brokers, redisUrl: own.redisUrl, input, output, dlq },
      {
        "kafka.groupId": groupId,
        "kafka.delivery": args.delivery,
        "kafka.drainTimeoutMs": "3000",
        "dedup.keyPrefix": "soak:",
        "batching.maxBatchSize": "16",
        "telemetry.logLevel": "info",
      },
    ),
    3,
    logDir,
  );
  fleet.start();
  traffic = new Traffic(client.kafka, input, rate, (i) => {
    const post = posts[i % posts.length];
    return { key: `user-${i % 997}`, value: JSON.stringify({ id: `soak-${i}`, ...post }) };
  });

  const started = Date.now();
  const end = started + minutes * 60_000;
  const rss = { start: undefined, end: undefined, max: 0 };
  const sampleRss = () => {
    const now = fleet.rssKb();
    for (const kb of now) if (kb !== undefined) rss.max = Math.max(rss.max, kb);
    // "Start": the first sample with every worker up and past its start-up (20 s in).
    if (!rss.start && Date.now() - started > 20_000 && now.every((kb) => kb !== undefined)) rss.start = now;
    if (now.every((kb) => kb !== undefined)) rss.end = now;
  };
  const rssTimer = setInterval(sampleRss, 5000);
  const kills = [];
  const events = [];
  let redisDone = false;
  let brokerDone = false;
  let nextKill = started + killEveryMs;
  /** SIGKILL a service, leave it down a moment, start it again on the same port and data. */
  const restart = async (name, kill, start) => {
    log(`SIGKILL ${name}`);
    await kill();
    await sleep(3000);
    const t = Date.now();
    await start();
    events.push(`${name} restarted (back in ${Date.now() - t} ms)`);
    log(events.at(-1));
  };
  try {
    for (let k = 0; Date.now() < end; ) {
      if (!redisDone && Date.now() > started + (end - started) / 3) {
        redisDone = true;
        await restart("redis", own.killRedis, own.startRedis);
      } else if (!brokerDone && Date.now() > started + ((end - started) * 2) / 3) {
        brokerDone = true;
        await restart("broker", own.killKafka, own.startKafka);
      } else if (Date.now() >= nextKill) {
        const slot = k % fleet.size;
        const signal = k % 2 === 0 ? "SIGKILL" : "SIGTERM";
        k++;
        const exit = await fleet.kill(slot, signal);
        kills.push({ slot, signal, code: exit.code, ms: exit.ms, forced: exit.forced });
        log(
          `${signal} worker ${slot}: exit ${exit.code ?? exit.signal} after ${exit.ms} ms${exit.forced ? " (forced)" : ""}`,
        );
        fleet.respawn(slot);
        nextKill = Date.now() + killEveryMs;
      }
      await sleep(250);
    }
    sampleRss();
    const sent = await traffic.stop();
    log(`traffic stopped after ${sent} messages (${traffic.retries} send retries); waiting for the group`);
    const catchUpFrom = Date.now();
    await client.waitForGroupAtEnd(groupId, input, 300_000);
    const catchUpMs = Date.now() - catchUpFrom;
    sampleRss();
    clearInterval(rssTimer);
    const stops = await fleet.stop(30_000);
    log("reading the topics");
    const inputs = await client.readAll(input, { count: sent, timeoutMs: 180_000 });
    const committed = await readCommittedExactly(client.kafka, output, 180_000);
    const result = tally(eventIds(inputs), eventIds(committed.records));
    const badTerms = [...kills.filter((x) => x.signal === "SIGTERM"), ...stops].filter((x) => x.code !== 0 || x.forced);
    const rows = [
      ["minutes, delivery", `${minutes}, ${args.delivery}`],
      ["messages sent (distinct ids)", `${sent} (${result.sent})`],
      ["input duplicates (producer retries)", result.inputDuplicates],
      ["events (read_committed)", committed.records.length],
      ["lost", result.lost.length],
      ["doubled", result.doubled.length],
      ["unexpected ids", result.unexpected.length],
      ["aborted output records (hidden)", committed.aborted],
      ["open-transaction records", committed.open],
      [
        "worker kills (SIGKILL/SIGTERM)",
        `${kills.filter((x) => x.signal === "SIGKILL").length}/${kills.filter((x) => x.signal === "SIGTERM").length}`,
      ],
      ["worker restarts", fleet.restarts],
      ["worker crashes (exits nobody asked for)", fleet.crashes.length],
      ["SIGTERM exits not 0 or forced", badTerms.length],
      ["redis / broker restarts", `${redisDone ? 1 : 0} / ${brokerDone ? 1 : 0}`],
      ["catch-up after the chaos", `${(catchUpMs / 1000).toFixed(1)} s`],
      ["worker RSS MiB at start (w0,w1,w2)", (rss.start ?? []).map(mib).join(", ")],
      ["worker RSS MiB at end (w0,w1,w2)", (rss.end ?? []).map(mib).join(", ")],
      ["worker RSS MiB max", mib(rss.max)],
    ];
    const width = Math.max(...rows.map(([name]) => name.length));
    process.stdout.write(`\n${rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n")}\n`);
    for (const e of events) process.stdout.write(`${e}\n`);
    if (result.lost.length) process.stdout.write(`lost (first 20): ${result.lost.slice(0, 20).join(" ")}\n`);
    if (result.doubled.length) process.stdout.write(`doubled (first 20): ${result.doubled.slice(0, 20).join(" ")}\n`);
    if (fleet.crashes.length) process.stdout.write(`crashes: ${JSON.stringify(fleet.crashes)}\n`);
    if (badTerms.length) process.stdout.write(`bad SIGTERM exits: ${JSON.stringify(badTerms)}\n`);
    process.stdout.write(`worker logs: ${logDir}\n`);
    const doubledOk = atLeastOnce || result.doubled.length === 0;
    return result.lost.length === 0 && doubledOk && committed.open === 0 ? 0 : 1;
  } finally {
    clearInterval(rssTimer);
  }
}

let code = 1;
try {
  code = await main();
} catch (error) {
  log(`failed: ${error?.stack ?? error}`);
  log(`worker logs: ${logDir}`);
} finally {
  await cleanup();
}
process.exit(code);
