/**
 * A model rollout on the real broker and Redis: a shadow of the tiny model's int8 variant on a
 * topic agrees with the primary exactly as `classify` on both says; a switch mid-stream loses and
 * doubles nothing under exactly-once and the events' revision changes; a broken candidate is
 * refused through the admin endpoint with the old model still serving.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import type { Config } from "../../src/config/index.js";
import { type SentimentEvent, sentimentEventSchema } from "../../src/events/sentiment-event.js";
import { startWorker, type Worker } from "../../src/pipeline/live-worker.js";
import { AdminServer } from "../../src/rollout/admin-server.js";
import { AgreementStats } from "../../src/rollout/agreement.js";
import { startTelemetry } from "../../src/telemetry/index.js";
import { TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient, ReadRecord } from "../helpers/kafka.js";
import type { TestServices } from "../helpers/services.js";
import { CLI, configOf, countOf, tally, workerSetup } from "../helpers/worker-setup.js";

// The tiny model's revisions: the start of each ONNX file's sha256 (its manifest).
const FP32 = "sha256:7cae42d09646";
const INT8 = "sha256:ec191df19320";
const LABELS = ["positive", "neutral", "negative"];

/** One line per text (stdin lines for `classify`), each text once. */
const corpus = [
  ...new Map(
    tinyParity()
      .items.filter((i) => i.text.trim() && !i.truncated && !/[\r\n\u2028\u2029\u0085]/.test(i.text))
      .map((i) => [i.text, i]),
  ).values(),
];

let services: TestServices;
let client: KafkaTestClient;
const workers: Worker[] = [];

openForFile(
  (opened) => {
    ({ services, client } = opened);
  },
  { beforeClose: () => Promise.all(workers.map((w) => w.stop())) },
);

/** Input, output and dead-letter topics and a worker's flags for them; no periodic summary lines. */
const topics = (partitions: number) =>
  workerSetup(client, services, { partitions, flags: { "rollout.summaryIntervalMs": "0" } });

async function run(config: Config, options: Parameters<typeof startWorker>[1] = {}): Promise<Worker> {
  const worker = await startWorker(config, options);
  workers.push(worker);
  return worker;
}

const eventsOf = (records: ReadRecord[]): SentimentEvent[] =>
  records.map((r) => sentimentEventSchema.parse(JSON.parse(String(r.value))) as SentimentEvent);

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** `sentiment-worker classify` on the texts (one per stdin line): each text's label and scores. */
function classify(texts: string[], flags: string[]): Promise<Array<{ label: string; scores: Record<string, number> }>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "classify", ...flags], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`classify exited ${code}`));
      const lines = out.trim().split("\n");
      resolve(
        lines.map((line) => {
          const ranked = JSON.parse(line) as Array<{ label: string; score: number }>;
          return {
            label: ranked[0]?.label ?? "",
            scores: Object.fromEntries(ranked.map((r) => [r.label, r.score])),
          };
        }),
      );
    });
    child.stdin.end(`${texts.join("\n")}\n`);
  });
}

describe("model rollout", () => {
  it("a shadow of the int8 variant agrees with the primary exactly as `classify` on both says", async () => {
    const t = await topics(3);
    const shadowTopic = await client.createTopic("shadow", 1);
    // One text per inference batch: the int8 model quantizes each batch's activations as a whole, so
    // its answers depend on the batch around a text; alone, they are what `classify` gives.
    const worker = await run(
      configOf(t, {
        "batching.maxBatchSize": "1",
        "rollout.shadow.enabled": "true",
        "rollout.shadow.variant": "int8",
        "rollout.shadow.samplePercent": "100",
        "rollout.shadow.topic": shadowTopic,
      }),
    );
    const messages = corpus.map((item, i) => ({ id: `m-${i}`, lang: item.lang, text: item.text }));
    await client.produce(
      t.input,
      messages.map((m) => ({ key: m.id, value: JSON.stringify(m) })),
    );
    const primary = eventsOf(await client.readAll(t.output, { count: messages.length }));
    assert.equal(primary.length, messages.length);
    const runner = worker.rollout.shadowRunner;
    assert.ok(runner, "the shadow runs");
    await until("the shadow compared every message", () => runner.stats.compared === messages.length);
    const shadow = eventsOf(await client.readAll(shadowTopic, { count: messages.length }));

    const texts = messages.map((m) => m.text);
    const common = ["--model.dir", TINY_MODEL_DIR, "--batching.maxBatchSize", "1", "--runtime.intraOpThreads", "1"];
    const fp32 = await classify(texts, common);
    const int8 = await classify(texts, [...common, "--model.variant", "int8"]);
    const expected = new AgreementStats(LABELS);
    for (const [i, m] of messages.entries()) expected.add(m.lang, fp32[i] as never, int8[i] as never);
    const want = expected.report();
    const got = runner.stats.report();

    // Each event as classify says, on both sides.
    const index = new Map(messages.map((m, i) => [m.id, i]));
    for (const e of primary) assert.equal(e.sentiment.label, fp32[index.get(e.id) as number]?.label, e.id);
    assert.equal(new Set(shadow.map((e) => e.id)).size, messages.length);
    for (const e of shadow) {
      assert.equal(e.model.revision, INT8);
      assert.equal(e.sentiment.label, int8[index.get(e.id) as number]?.label, e.id);
    }
    assert.ok(primary.every((e) => e.model.revision === FP32));
    assert.ok(want.agreement < 1, "the variants disagree somewhere, or the test proves little");
    assert.equal(got.compared, want.compared);
    assert.equal(got.agreed, want.agreed);
    assert.equal(got.agreement, want.agreement);
    assert.deepEqual(got.confusion, want.confusion);
    assert.deepEqual(
      got.byLanguage.map((l) => [l.lang, l.compared, l.agreed]),
      want.byLanguage.map((l) => [l.lang, l.compared, l.agreed]),
    );
    assert.ok(Math.abs(got.meanAbsScoreDiff - want.meanAbsScoreDiff) < 1e-9);
    process.stderr.write(
      `    shadow agreement ${(100 * got.agreement).toFixed(2)}% (${got.agreed}/${got.compared}), classify says ${(100 * want.agreement).toFixed(2)}%\n`,
    );
  });

  it("a switch mid-stream loses and doubles nothing under exactly-once; the events' revision changes once per partition", async () => {
    const t = await topics(3);
    const config = configOf(t);
    const worker = await run(config);
    let notReady = 0;
    const watch = setInterval(() => {
      if (!worker.isReady()) notReady++;
    }, 10);
    const total = 2400;
    const ids = Array.from({ length: total }, (_, i) => `s-${i}`);
    const producing = (async () => {
      for (let at = 0; at < total; at += 100) {
        await client.produce(
          t.input,
          ids.slice(at, at + 100).map((id, j) => {
            const item = corpus[(at + j) % corpus.length];
            return { key: id, value: JSON.stringify({ id, lang: item?.lang, text: item?.text }) };
          }),
        );
        await sleep(100);
      }
    })();
    await until("a few hundred events are committed", () => worker.counters.events >= 300);
    const switched = await worker.rollout.switchModel({ variant: "int8" });
    assert.ok(switched.ok, JSON.stringify(switched));
    assert.equal(worker.rollout.currentModel.revision, INT8);
    await producing;
    const records = await client.readAll(t.output, { count: total, timeoutMs: 120_000 });
    clearInterval(watch);
    const events = eventsOf(records);
    const { doubled, missing } = tally(countOf(events.map((e) => e.id)), ids);
    assert.deepEqual({ doubled, missing: missing.length }, { doubled: [], missing: 0 });
    assert.equal(events.length, total);
    const byRevision = countOf(events.map((e) => e.model.revision));
    assert.deepEqual([...byRevision.keys()].sort(), [FP32, INT8].sort());
    assert.ok((byRevision.get(INT8) ?? 0) < total - 300);
    // In input order per partition, old-model events and then new-model events: a batch never mixes back.
    for (const partition of [0, 1, 2]) {
      const revisions = events
        .filter((e) => e.source.partition === partition)
        .sort((a, b) => Number(BigInt(a.source.offset) - BigInt(b.source.offset)))
        .map((e) => e.model.revision);
      const firstNew = revisions.indexOf(INT8);
      if (firstNew >= 0)
        assert.ok(
          revisions.slice(firstNew).every((r) => r === INT8),
          `partition ${partition}`,
        );
    }
    assert.equal(notReady, 0, "readiness stayed true through the switch");
    // De-duplication keys moved to the new revision with the model.
    const redis = new Redis(services.redisUrl);
    try {
      const prefix = config.dedup.keyPrefix;
      const old = await redis.keys(`${prefix}${FP32}:*`);
      const next = await redis.keys(`${prefix}${INT8}:*`);
      assert.equal(old.length, byRevision.get(FP32));
      assert.equal(next.length, byRevision.get(INT8));
    } finally {
      redis.disconnect();
    }
  });

  it("refuses a broken candidate through the admin endpoint, the old model still serving; then switches and rolls back", async () => {
    const broken = mkdtempSync(join(tmpdir(), "sw-broken-model-"));
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) {
      copyFileSync(join(TINY_MODEL_DIR, f), join(broken, f));
    }
    writeFileSync(join(broken, "model.onnx"), "this is not an ONNX model");
    const t = await topics(1);
    const config = configOf(t);
    const telemetry = await startTelemetry(config.telemetry, { version: "test" });
    const worker = await run(config, { telemetry });
    const admin = await AdminServer.listen(worker.rollout, { port: 0, host: "127.0.0.1" });
    const metricsServer: Server = createServer((req, res) => telemetry.metrics.serve(req, res));
    await new Promise<void>((r) => metricsServer.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${admin.port}`;
    const post = (path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method: "POST",
        body: body === undefined ? "" : JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
    try {
      const refused = await post("/model", { dir: broken });
      const answer = (await refused.json()) as { ok: boolean; error: string; serving: { revision: string } };
      assert.equal(refused.status, 422);
      assert.equal(answer.ok, false);
      assert.match(answer.error, /onnx|model|protobuf|load/i);
      assert.equal(answer.serving.revision, FP32);
      assert.ok(worker.isReady());
      const status = (await (await fetch(`${base}/model`)).json()) as {
        lastSwitch: { outcome: string; error: string };
      };
      assert.equal(status.lastSwitch.outcome, "refused");
      const metrics = await (
        await fetch(`http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`)
      ).text();
      assert.match(metrics, /sw_model_switches_total\{outcome="refused"[^}]*\} 1\b/);
      assert.match(metrics, new RegExp(`sw_model_info\\{role="primary",name="[^"]+",revision="${FP32}"[^}]*\\} 1`));

      // The old model still tags.
      const first = Array.from({ length: 50 }, (_, i) => ({ id: `b-${i}`, text: corpus[i]?.text ?? "x" }));
      await client.produce(
        t.input,
        first.map((m) => ({ key: m.id, value: JSON.stringify(m) })),
      );
      const tagged = eventsOf(await client.readAll(t.output, { count: first.length }));
      assert.equal(tagged.length, first.length);
      assert.ok(tagged.every((e) => e.model.revision === FP32));

      assert.equal((await post("/model", { variant: "int8" })).status, 200);
      assert.equal(worker.rollout.currentModel.revision, INT8);
      const back = await post("/model/rollback");
      assert.equal(back.status, 200);
      assert.equal(((await back.json()) as { model: { revision: string } }).model.revision, FP32);
      assert.equal((await post("/model", { variant: "fp16" })).status, 400);

      // With rollout.adminToken, a request without it, or with another, changes nothing.
      const guarded = await AdminServer.listen(worker.rollout, {
        port: 0,
        host: "127.0.0.1",
        token: "tok-0123456789abcdef",
      });
      try {
        const at = `http://127.0.0.1:${guarded.port}`;
        const switchTo = (authorization?: string) =>
          fetch(`${at}/model`, {
            method: "POST",
            body: JSON.stringify({ variant: "int8" }),
            headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
          });
        const bare = await switchTo();
        assert.equal(bare.status, 401);
        assert.match(bare.headers.get("www-authenticate") ?? "", /^Bearer/);
        assert.equal((await switchTo("Bearer tok-0123456789abcdeX")).status, 401);
        assert.equal((await fetch(`${at}/shadow`)).status, 401);
        assert.equal(worker.rollout.currentModel.revision, FP32, "refused requests switch nothing");
        assert.equal((await switchTo("Bearer tok-0123456789abcdef")).status, 200);
        assert.equal(worker.rollout.currentModel.revision, INT8);
      } finally {
        await guarded.close();
      }
    } finally {
      await admin.close();
      await new Promise((r) => metricsServer.close(r));
      await worker.stop();
      await telemetry.shutdown();
    }
  });
});
