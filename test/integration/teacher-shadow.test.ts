/**
 * The teacher in the loop on the real broker and Redis: the tiny zero-shot NLI teacher shadows the
 * tiny student on a sample of the committed traffic (rollout.shadow.samplePercent), recognised as
 * zero-shot by its config.json. Its agreement with the student per language, on /metrics (with
 * candidate_kind="zero-shot") and GET /shadow, is what the student's events and transformers'
 * zero-shot pipeline (the committed reference) say it must be, on exactly the sampled messages.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { type SentimentEvent, sentimentEventSchema } from "../../src/events/sentiment-event.js";
import { startWorker, type Worker } from "../../src/pipeline/live-worker.js";
import { AdminServer } from "../../src/rollout/admin-server.js";
import { AgreementStats } from "../../src/rollout/agreement.js";
import { isSampled } from "../../src/rollout/shadow.js";
import { startTelemetry } from "../../src/telemetry/index.js";
import { TINY_TEACHER_DIR, tinyTeacherParity } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import type { TestServices } from "../helpers/services.js";
import { configOf, workerSetup } from "../helpers/worker-setup.js";

const LABELS = ["positive", "neutral", "negative"];
const SAMPLE_PERCENT = 40;
// The 12 languages' posts (each once, none blank or cut), with what the teacher says of each.
const posts = tinyTeacherParity().items.filter(
  (i) => i.lang !== "xx" && i.text.trim() && !i.truncated && !/[\r\n\u2028\u2029\u0085]/.test(i.text),
);

let services: TestServices;
let client: KafkaTestClient;
const workers: Worker[] = [];
openForFile(
  (opened) => {
    ({ services, client } = opened);
  },
  { beforeClose: () => Promise.all(workers.map((w) => w.stop())) },
);

async function until(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** `name{...labels} value` lines of a Prometheus text exposition with these label values. */
function samples(text: string, name: string, labels: Record<string, string>): number[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`))
    .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .map((line) => Number(line.slice(line.lastIndexOf(" ") + 1)));
}

describe("the zero-shot teacher as a shadow", () => {
  it("measures the student's agreement with the teacher per language on a sample, on /metrics and GET /shadow", async () => {
    const t = await workerSetup(client, services, {
      partitions: 3,
      flags: {
        "rollout.summaryIntervalMs": "0",
        "rollout.shadow.enabled": "true",
        "rollout.shadow.dir": TINY_TEACHER_DIR,
        "rollout.shadow.samplePercent": String(SAMPLE_PERCENT),
      },
    });
    const config = configOf(t);
    // The worker's log lines, as JSON objects (the summary line is read below).
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const telemetry = await startTelemetry(config.telemetry, { version: "test", logger });
    const worker = await startWorker(config, { telemetry });
    workers.push(worker);
    const admin = await AdminServer.listen(worker.rollout, { port: 0, host: "127.0.0.1" });
    const metricsServer: Server = createServer((req, res) => telemetry.metrics.serve(req, res));
    await new Promise<void>((r) => metricsServer.listen(0, "127.0.0.1", r));
    try {
      const messages = posts.map((item, i) => ({ id: `t-${i}`, lang: item.lang, text: item.text, item }));
      const sampled = messages.filter((m) => isSampled(m.id, SAMPLE_PERCENT));
      assert.ok(sampled.length > 50 && sampled.length < messages.length * 0.6, `sampled ${sampled.length}`);
      await client.produce(
        t.input,
        messages.map(({ id, lang, text }) => ({ key: id, value: JSON.stringify({ id, lang, text }) })),
      );
      const events = (await client.readAll(t.output, { count: messages.length })).map(
        (r) => sentimentEventSchema.parse(JSON.parse(String(r.value))) as SentimentEvent,
      );
      assert.equal(events.length, messages.length);
      const runner = worker.rollout.shadowRunner;
      assert.ok(runner, "the shadow runs");
      await until("the teacher compared every sampled message", () => runner.stats.compared === sampled.length);

      // What it must be: the student's own events against the Python zero-shot pipeline's labels.
      const byId = new Map(events.map((e) => [e.id, e]));
      const expected = new AgreementStats(LABELS);
      for (const m of sampled) {
        const event = byId.get(m.id) as SentimentEvent;
        expected.add(event.lang, event.sentiment, { label: m.item.label, scores: m.item.scores });
      }
      const want = expected.report();
      const got = runner.stats.report();
      assert.equal(runner.candidate.kind, "zero-shot");
      assert.equal(got.compared, sampled.length);
      assert.deepEqual(
        got.byLanguage.map((l) => [l.lang, l.compared, l.agreed]),
        want.byLanguage.map((l) => [l.lang, l.compared, l.agreed]),
      );
      assert.deepEqual(got.confusion, want.confusion);
      assert.ok(Math.abs(got.meanAbsScoreDiff - want.meanAbsScoreDiff) < 1e-4);
      assert.equal(got.byLanguage.length, 12);
      assert.ok(want.agreement > 0 && want.agreement < 1, "the pair disagrees somewhere, or the test proves little");

      // GET /shadow: the candidate, its kind, the sample rate and the same report.
      const status = (await (await fetch(`http://127.0.0.1:${admin.port}/shadow`)).json()) as {
        candidate: { kind: string; name: string };
        samplePercent: number;
        report: typeof got;
      };
      assert.equal(status.candidate.kind, "zero-shot");
      assert.equal(status.candidate.name, "sentiment-worker/fixture-tiny-teacher");
      assert.equal(status.samplePercent, SAMPLE_PERCENT);
      assert.deepEqual(
        status.report.byLanguage.map((l) => [l.lang, l.compared, l.agreed]),
        want.byLanguage.map((l) => [l.lang, l.compared, l.agreed]),
      );

      // /metrics: each language's agreement and counts, labelled candidate_kind="zero-shot".
      const metrics = await (
        await fetch(`http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`)
      ).text();
      const kind = { candidate_kind: "zero-shot" };
      for (const l of want.byLanguage) {
        const [ratio] = samples(metrics, "sw_shadow_agreement_ratio", { ...kind, lang: l.lang });
        assert.ok(ratio !== undefined && Math.abs(ratio - l.agreement) < 1e-9, `${l.lang}: ${ratio} ≠ ${l.agreement}`);
        assert.deepEqual(samples(metrics, "sw_shadow_agreement_compared_total", { ...kind, lang: l.lang }), [
          l.compared,
        ]);
        assert.deepEqual(samples(metrics, "sw_shadow_agreement_agreed_total", { ...kind, lang: l.lang }), [l.agreed]);
      }
      const [all] = samples(metrics, "sw_shadow_agreement_ratio", { ...kind, lang: "all" });
      assert.ok(all !== undefined && Math.abs(all - want.agreement) < 1e-9);

      // The summary log line: the teacher, its kind, the agreement per language.
      worker.rollout.logSummary();
      const summary = lines.findLast((l) => l.msg === "shadow agreement") as
        | { candidate: { kind: string }; compared: number; byLanguage: Record<string, number> }
        | undefined;
      assert.equal(summary?.candidate.kind, "zero-shot");
      assert.equal(summary?.compared, sampled.length);
      for (const l of want.byLanguage)
        assert.ok(Math.abs((summary?.byLanguage[l.lang] ?? -1) - l.agreement) < 1e-4, `log line, ${l.lang}`);
      assert.ok(lines.some((l) => l.msg === "shadow started" && l.kind === "zero-shot"));
      process.stderr.write(
        `    teacher agreement ${(100 * want.agreement).toFixed(2)}% on ${sampled.length} of ${messages.length} messages (${SAMPLE_PERCENT}% sample)\n`,
      );
    } finally {
      await admin.close();
      await new Promise((r) => metricsServer.close(r));
      await worker.stop();
      await telemetry.shutdown();
    }
  });
});
