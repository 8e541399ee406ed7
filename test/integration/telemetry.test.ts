/**
 * The worker as an operator sees it, against the real broker and Redis: the CLI worker's
 * Prometheus endpoint counts what happened on the topics, its batch spans reach an OTLP receiver
 * linked to the messages' trace context, and `/readyz` follows Redis in `fail` mode; in `bypass`
 * mode the messages tagged without Redis are counted.
 */

import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Message } from "kafkajs";
import type { SentimentEvent } from "../../src/events/sentiment-event.js";
import { metricLanguage } from "../../src/language/languages.js";
import { SPANS } from "../../src/telemetry/names.js";
import { tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import { parseMetrics } from "../helpers/prometheus.js";
import { freePort, startRedis } from "../helpers/redis-server.js";
import type { TestServices } from "../helpers/services.js";
import { spawnWorker, workerSetup } from "../helpers/worker-setup.js";

const texts = tinyTexts();

let services: TestServices;
let client: KafkaTestClient;

openForFile((opened) => {
  ({ services, client } = opened);
});

/** A CLI worker's topics and flags (the shared set-up): Redis de-duplication in `onRedisUnavailable` mode, /metrics on a free port, info logs (its summary line is read). */
async function cliWorker(redisUrl: string, onRedisUnavailable: "fail" | "bypass") {
  const httpPort = await freePort();
  const setup = await workerSetup(
    client,
    { kafkaBrokers: services.kafkaBrokers, redisUrl },
    {
      partitions: 2,
      outputPartitions: 1,
      flags: {
        "dedup.onRedisUnavailable": onRedisUnavailable,
        "telemetry.httpPort": String(httpPort),
        "telemetry.logLevel": "info",
      },
    },
  );
  return { ...setup, groupId: setup.flags["kafka.groupId"] as string, base: `http://127.0.0.1:${httpPort}` };
}

/** `sentiment-worker run` with `flags`, its stderr to `onStderr`. */
function startCliWorker(flags: Record<string, string>, onStderr: (text: string) => void): ChildProcess {
  const worker = spawnWorker(flags);
  worker.stderr?.on("data", (d: Buffer) => onStderr(d.toString("utf8")));
  return worker;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  links?: { traceId: string; spanId: string }[];
}

/** A minimal OTLP/HTTP receiver: keeps every span posted to /v1/traces (JSON encoding). */
class OtlpReceiver {
  readonly spans: OtlpSpan[] = [];
  readonly problems: string[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (c: Buffer) => chunks.push(c));
      request.on("end", () => {
        if (request.url === "/v1/traces") {
          if (!String(request.headers["content-type"]).includes("json")) {
            this.problems.push(`traces arrived as ${request.headers["content-type"]}`);
          } else {
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            for (const rs of body.resourceSpans ?? [])
              for (const ss of rs.scopeSpans ?? []) this.spans.push(...(ss.spans ?? []));
          }
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return; // never started (its test was not run)
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

async function get(url: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(url);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: "" };
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const traceparent = () => `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;

describe("telemetry of a running worker", () => {
  let child: ChildProcess | undefined;
  let stderr = "";
  const receiver = new OtlpReceiver();

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    await receiver.stop();
  });

  it("counts on /metrics what happened on the topics, sends linked batch spans, and follows Redis on /readyz", async () => {
    const redis = await startRedis();
    try {
      const { input, output, dlq, groupId, base, flags } = await cliWorker(redis.url, "fail");
      flags["telemetry.otlpEndpoint"] = await receiver.start();
      child = startCliWorker(flags, (text) => {
        stderr += text;
      });

      await waitFor("/healthz", async () => (await get(`${base}/healthz`)).status === 200);
      await waitFor("/readyz", async () => (await get(`${base}/readyz`)).status === 200);

      // 60 messages with trace context, 10 of them again at later offsets, 7 bad records, 2 tombstones.
      // Most have no language field (detected); every tenth says Swedish (a language the model lacks);
      // six more have a language field that is no language tag (ignored and counted: detected).
      const parents = new Map<string, string>();
      const notTags = ["x".repeat(5000), "\ud800", "en\u0000"];
      const good: Message[] = Array.from({ length: 60 }, (_, i) => {
        const tp = traceparent();
        parents.set(`m-${i}`, tp);
        const lang = i % 10 === 0 ? { lang: "sv" } : i % 10 === 5 ? { lang: notTags[i % 3] } : {};
        return {
          key: `k-${i % 7}`,
          value: JSON.stringify({ id: `m-${i}`, text: texts[i % texts.length], ...lang }),
          headers: { traceparent: tp },
        };
      });
      const again: Message[] = good.slice(0, 10).map((m) => ({ key: m.key ?? null, value: m.value ?? null }));
      const bad: Message[] = [
        ...["{not json", "[1", "{"].map((value, i) => ({ key: `bad-${i}`, value })),
        { key: "utf8", value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
        { key: "empty", value: JSON.stringify({ id: "e-1", text: "   " }) },
        { key: "schema", value: "[1, 2]" },
        { key: "schema-id", value: JSON.stringify({ id: "", text: "hi" }) },
      ];
      const tombstones: Message[] = [
        { key: "t-1", value: null },
        { key: "t-2", value: null },
      ];
      await client.produce(input, [...good, ...bad, ...tombstones, ...again]);
      const records = good.length + again.length + bad.length + tombstones.length;
      await client.waitForGroupAtEnd(groupId, input);

      const [events, deadLetters] = await Promise.all([
        client.readAll(output, { count: 60 }),
        client.readAll(dlq, { count: bad.length }),
      ]);
      assert.equal(events.length, 60);
      const codes = new Map<string, number>();
      for (const d of deadLetters) {
        const code = String(d.headers["sw-error-code"]);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
      assert.deepEqual(
        Object.fromEntries(codes),
        { INVALID_JSON: 3, INVALID_UTF8: 1, EMPTY_TEXT: 1, SCHEMA: 2 },
        "the dead letters on the topic",
      );

      const scraped = (await get(`${base}/metrics`)).body;
      const metrics = parseMetrics(scraped);
      if (process.env.SW_TEST_DEBUG) console.log(scraped);
      assert.equal(metrics.get("sw_records_total"), records);
      // Events by language and label: the same counts as the events on the topic say.
      const byKind = new Map<string, number>();
      let supported = 0;
      for (const record of events) {
        const event = JSON.parse(String(record.value)) as SentimentEvent;
        const key = `sw_events_total{label="${event.sentiment.label}",lang="${metricLanguage(event.lang)}"}`;
        byKind.set(key, (byKind.get(key) ?? 0) + 1);
        if (event.languageSupported) supported++;
      }
      for (const [key, n] of byKind) assert.equal(metrics.get(key), n, key);
      const eventSeries = [...metrics].filter(([k]) => k.startsWith("sw_events_total{"));
      assert.equal(eventSeries.length, byKind.size, "no other sw_events_total series");
      assert.equal(
        eventSeries.reduce((sum, [, n]) => sum + n, 0),
        events.length,
      );
      const langs = new Set([...byKind.keys()].map((k) => /lang="([^"]+)"/.exec(k)?.[1]));
      // The first texts of the fixture are English and Arabic; the tenths say Swedish.
      assert.deepEqual([...langs].sort(), ["ar", "en", "other"], "the input's sv as other, the rest detected");
      assert.equal(metrics.get('sw_events_language_supported_total{supported="true"}'), supported);
      assert.equal(metrics.get('sw_events_language_supported_total{supported="false"}'), events.length - supported);
      assert.equal(metrics.get("sw_dedup_hits_total"), again.length);
      assert.equal(metrics.get("sw_tombstones_total"), tombstones.length);
      // Counted per committed record: the duplicate of m-5 too.
      const notTagged = [...good, ...again].filter((m) => notTags.includes(JSON.parse(String(m.value)).lang));
      assert.equal(notTagged.length, 7);
      assert.equal(metrics.get("sw_input_lang_ignored_total"), notTagged.length);
      for (const [code, n] of codes) assert.equal(metrics.get(`sw_dead_letters_total{code="${code}"}`), n, code);
      assert.equal(metrics.get("sw_end_to_end_latency_seconds_count"), events.length);
      assert.equal(metrics.get("sw_batch_size_sum"), events.length, "every tagged message went through one batch");
      // The batcher's own view: every cut counted under its reason, every message's queue wait, nothing left queued.
      const cuts = [...metrics].filter(([k]) => k.startsWith("sw_batch_cuts_total{"));
      assert.ok(cuts.length > 0 && cuts.every(([k]) => /\{reason="(size|tokens|wait|close)"\}$/.test(k)), String(cuts));
      assert.equal(
        cuts.reduce((sum, [, n]) => sum + n, 0),
        metrics.get("sw_batch_size_count"),
        "one cut per batch",
      );
      assert.equal(metrics.get("sw_inference_queue_wait_seconds_count"), events.length);
      assert.equal(metrics.get('sw_inference_queue_wait_seconds_bucket{le="+Inf"}'), events.length);
      assert.equal(metrics.get("sw_inference_queue_depth"), 0);
      assert.ok((metrics.get("sw_inference_duration_seconds_count") ?? 0) > 0);
      assert.equal(metrics.get(`sw_consumer_lag{partition="0",topic="${input}"}`), 0);
      assert.equal(metrics.get("sw_ready"), 1);

      // The batch spans: linked to each message's incoming context, with the four stages as children.
      await waitFor("the batch spans", async () => {
        const linked = new Set(
          receiver.spans.filter((s) => s.name === SPANS.chunk).flatMap((s) => (s.links ?? []).map((l) => l.spanId)),
        );
        return [...parents.values()].every((tp) => linked.has(tp.split("-")[2] as string));
      });
      assert.deepEqual(receiver.problems, []);
      const batches = receiver.spans.filter((s) => s.name === SPANS.chunk);
      for (const [id, tp] of parents) {
        const [, traceId, spanId] = tp.split("-");
        const link = batches.flatMap((b) => b.links ?? []).find((l) => l.spanId === spanId);
        assert.equal(link?.traceId, traceId, `the link of ${id} names its trace`);
      }
      const byId = new Map(batches.map((b) => [b.spanId, b]));
      const children = receiver.spans.filter((s) => s.parentSpanId && byId.has(s.parentSpanId));
      for (const stage of [SPANS.consume, SPANS.dedup, SPANS.infer, SPANS.produce]) {
        const spans = children.filter((s) => s.name === stage);
        assert.ok(spans.length > 0, `${stage} spans are children of batch spans`);
        for (const s of spans) assert.equal(s.traceId, byId.get(s.parentSpanId as string)?.traceId);
      }

      // Redis away in fail mode: not ready (and the gauge says so); back: ready again.
      await redis.stop();
      await client.produce(input, [{ key: "late", value: JSON.stringify({ id: "late-1", text: texts[0] }) }]);
      await waitFor("/readyz to fail", async () => (await get(`${base}/readyz`)).status === 503, 30_000);
      const notReady = JSON.parse((await get(`${base}/readyz`)).body);
      assert.equal(notReady.checks.redis, false);
      assert.equal(parseMetrics((await get(`${base}/metrics`)).body).get("sw_ready"), 0);
      await redis.start();
      await waitFor("/readyz to recover", async () => (await get(`${base}/readyz`)).status === 200, 60_000);
      await client.waitForGroupAtEnd(groupId, input);
      const total = [...parseMetrics((await get(`${base}/metrics`)).body)]
        .filter(([k]) => k.startsWith("sw_events_total{"))
        .reduce((sum, [, n]) => sum + n, 0);
      assert.equal(total, 61);

      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      assert.equal(code, 0, stderr);
      const last = JSON.parse(stderr.trim().split("\n").at(-1) ?? "{}");
      assert.equal(last.summary.events, 61);
    } finally {
      await redis.stop();
    }
  });

  it("counts on /metrics the messages tagged without de-duplication while Redis is down in bypass mode", async () => {
    // A redis-server of the test's own, stopped by the test (never the shared one).
    const redis = await startRedis();
    let bypassing: ChildProcess | undefined;
    let log = "";
    try {
      const { input, output, groupId, base, flags } = await cliWorker(redis.url, "bypass");
      bypassing = startCliWorker(flags, (text) => {
        log += text;
      });
      await waitFor("/readyz", async () => (await get(`${base}/readyz`)).status === 200);
      const posts = (from: number, n: number): Message[] =>
        Array.from({ length: n }, (_, i) => ({
          key: `k-${i % 3}`,
          value: JSON.stringify({ id: `b-${from + i}`, text: texts[(from + i) % texts.length] }),
        }));
      const bypassed = async () => parseMetrics((await get(`${base}/metrics`)).body).get("sw_dedup_bypassed_total");

      // Redis answers: every id is claimed in Redis, none bypassed (the series is there, at 0).
      await client.produce(input, posts(0, 20));
      await client.waitForGroupAtEnd(groupId, input);
      assert.equal(await bypassed(), 0, log);

      // Redis gone: the worker goes on without it (still ready) and counts each id it tagged so.
      await redis.stop();
      await client.produce(input, posts(20, 15));
      await client.waitForGroupAtEnd(groupId, input);
      assert.equal(await bypassed(), 15, log);
      assert.equal((await get(`${base}/readyz`)).status, 200, "bypass keeps the worker ready");
      const ids = (await client.readAll(output, { count: 35 })).map((r) => JSON.parse(String(r.value)).id);
      assert.equal(new Set(ids).size, 35);

      bypassing.kill("SIGTERM");
      const [code] = await once(bypassing, "exit");
      assert.equal(code, 0, log);
    } finally {
      if (bypassing && bypassing.exitCode === null && bypassing.signalCode === null) {
        bypassing.kill("SIGKILL");
        await once(bypassing, "exit");
      }
      await redis.stop();
    }
  });
});
