/**
 * The parts of a model rollout without a broker: agreement statistics, the stable sample, the model
 * slot's leases (a replaced model closes only after its last batch), model specs, the shadow runner
 * with a fake candidate (bounded queue, failures counted, never thrown at the pipeline).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import type { SentimentEvent } from "../../src/events/sentiment-event.js";
import type { Classified, SentimentClassifier } from "../../src/inference/classifier.js";
import { ModelSlot } from "../../src/inference/model-slot.js";
import { AgreementStats, formatReport } from "../../src/rollout/agreement.js";
import { modelConfigOf, parseModelSpec, specOf } from "../../src/rollout/model-spec.js";
import { isSampled, ShadowRunner } from "../../src/rollout/shadow.js";

const LABELS = ["positive", "neutral", "negative"];
const scored = (label: string, p: number) => ({
  label,
  scores: Object.fromEntries(LABELS.map((l) => [l, l === label ? p : (1 - p) / 2])),
});

describe("agreement statistics", () => {
  it("counts argmax agreement overall, per language and per label pair, and the mean score difference", () => {
    const stats = new AgreementStats(LABELS);
    stats.add("en", scored("positive", 0.8), scored("positive", 0.7), "positive");
    stats.add("en", scored("negative", 0.6), scored("neutral", 0.5), "neutral");
    stats.add("de", scored("neutral", 0.9), scored("neutral", 0.9), "negative");
    stats.add("xx-unknown", scored("positive", 0.5), scored("negative", 0.5));
    const report = stats.report();
    assert.equal(report.compared, 4);
    assert.equal(report.agreed, 2);
    assert.equal(report.agreement, 0.5);
    const en = report.byLanguage.find((l) => l.lang === "en");
    assert.deepEqual([en?.compared, en?.agreed], [2, 1]);
    assert.ok(
      report.byLanguage.some((l) => l.lang === "other"),
      "an unknown language is bounded to other",
    );
    assert.equal(report.confusion.negative?.neutral, 1);
    assert.equal(report.confusion.positive?.negative, 1);
    assert.equal(report.confusion.neutral?.neutral, 1);
    // First text: |0.8-0.7| + 2 × |0.1-0.15| = 0.2 over 3 labels.
    const first = new AgreementStats(LABELS);
    first.add("en", scored("positive", 0.8), scored("positive", 0.7));
    assert.ok(Math.abs(first.report().meanAbsScoreDiff - 0.2 / 3) < 1e-12);
    assert.deepEqual(report.accuracy, { reference: 3, primary: 1 / 3, candidate: 2 / 3 });
    const text = formatReport(report, { primary: "a", candidate: "b" });
    assert.match(text, /agreement: 50\.00% \(2 of 4 texts, argmax\)/);
    assert.match(text, /^en +2 +50\.00%/m);
  });
});

describe("the shadow's sample", () => {
  it("is chosen by the id: none at 0%, all at 100%, about the share asked for, the same every time", () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `post-${i}`);
    assert.equal(ids.filter((id) => isSampled(id, 0)).length, 0);
    assert.equal(ids.filter((id) => isSampled(id, 100)).length, ids.length);
    const ten = ids.filter((id) => isSampled(id, 10)).length;
    assert.ok(ten > 900 && ten < 1100, `10% sampled ${ten} of 10,000`);
    assert.deepEqual(
      ids.filter((id) => isSampled(id, 10)),
      ids.filter((id) => isSampled(id, 10)),
    );
  });
});

describe("the model slot", () => {
  it("lets leased work finish on the old value and closes it after its last lease only", async () => {
    const closed: string[] = [];
    const slot = new ModelSlot("old", async (v) => void closed.push(v));
    const lease = slot.acquire();
    const { previous, whenRetired } = slot.replace("new");
    assert.equal(previous, "old");
    assert.equal(lease.value, "old");
    assert.equal(slot.acquire().value, "new");
    assert.equal(slot.retiringLeases, 1);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(closed, [], "not closed while a batch holds it");
    lease.release();
    lease.release();
    await whenRetired;
    assert.deepEqual(closed, ["old"]);
    await slot.close();
    assert.deepEqual(closed, ["old", "new"]);
  });

  it("closes a replaced value at once when nothing holds it", async () => {
    const closed: string[] = [];
    const slot = new ModelSlot("a", async (v) => void closed.push(v));
    await slot.replace("b").whenRetired;
    assert.deepEqual(closed, ["a"]);
  });
});

describe("model specs", () => {
  const base = loadConfig({ env: {}, flags: { "model.dir": "/models/v1" } }).model;
  it("take what they leave out from model.*, and a hub id or revision drops model.dir", () => {
    assert.equal(modelConfigOf(base, { variant: "int8" }).dir, "/models/v1");
    assert.equal(modelConfigOf(base, { variant: "int8" }).variant, "int8");
    const hub = modelConfigOf(base, { revision: "v2" });
    assert.equal(hub.dir, undefined);
    assert.equal(hub.revision, "v2");
    assert.equal(modelConfigOf(base, { dir: "/models/v2" }).dir, "/models/v2");
    assert.deepEqual(specOf(base), { dir: "/models/v1", variant: "fp32" });
  });
  it("refuse what is not one, saying why", () => {
    assert.throws(() => parseModelSpec([]), /JSON object/);
    assert.throws(() => parseModelSpec({}), /name a model/);
    assert.throws(() => parseModelSpec({ variant: "fp16" }), /variant/);
    assert.throws(() => parseModelSpec({ dir: "/m", color: "red" }), /color|unrecognized/i);
    assert.deepEqual(parseModelSpec({ dir: "/m", samplePercent: 5 }, ["samplePercent"]), { dir: "/m" });
  });
});

function event(id: string, label: string, lang = "en"): SentimentEvent {
  return {
    schema: "sentiment.v1",
    id,
    source: { topic: "posts", partition: 0, offset: "0", timestamp: "", timestampMs: "" },
    sentiment: { label, score: 0.8, scores: { positive: 0.1, neutral: 0.1, negative: 0.1, [label]: 0.8 } },
    lang,
    truncated: false,
    model: { name: "m", revision: "r1" },
    processedAt: new Date(0).toISOString(),
  } as SentimentEvent;
}

/** Answers "positive" for every text, or fails, or holds its answers until released. */
function fakeCandidate(behaviour: { fail?: boolean; hold?: Promise<void> } = {}) {
  let closed = false;
  const classifier = {
    model: { name: "cand", revision: "r2", labels: LABELS },
    async classifyAll(texts: readonly string[]): Promise<Classified[]> {
      await behaviour.hold;
      if (behaviour.fail) throw new Error("boom");
      return texts.map(() => ({ ...scored("positive", 0.8), score: 0.8, truncated: false, tokens: 1 }));
    },
    async close() {
      closed = true;
    },
  };
  return { classifier: classifier as unknown as SentimentClassifier, isClosed: () => closed };
}

describe("the shadow runner", () => {
  it("compares the candidate with the primary's events and publishes the candidate's events", async () => {
    const published: SentimentEvent[] = [];
    const { classifier } = fakeCandidate();
    const runner = new ShadowRunner(classifier, {
      samplePercent: 100,
      queueCapacity: 10,
      publish: async (events) => void published.push(...events),
    });
    runner.offer([
      { text: "a", event: event("1", "positive") },
      { text: "b", event: event("2", "negative", "de") },
    ]);
    await runner.idle();
    const report = runner.stats.report();
    assert.equal(report.compared, 2);
    assert.equal(report.agreement, 0.5);
    assert.deepEqual(
      published.map((e) => [e.id, e.sentiment.label, e.model.revision]),
      [
        ["1", "positive", "r2"],
        ["2", "positive", "r2"],
      ],
    );
  });

  it("starts its statistics again when the primary changes, leaving out events of the old primary", async () => {
    const { classifier } = fakeCandidate();
    const runner = new ShadowRunner(classifier, { samplePercent: 100, queueCapacity: 10 });
    runner.comparingWith("r1");
    runner.offer([{ text: "a", event: event("1", "positive") }]);
    await runner.idle();
    assert.equal(runner.stats.compared, 1);
    runner.comparingWith("r9");
    assert.equal(runner.stats.compared, 0);
    runner.offer([{ text: "b", event: event("2", "positive") }]);
    await runner.idle();
    assert.equal(runner.stats.compared, 0, "an event of the old primary (r1) is not compared with the new one");
  });

  it("skips and counts what does not fit its queue, and a candidate's failure, never throwing", async () => {
    let release = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    const { classifier, isClosed } = fakeCandidate({ fail: true, hold });
    const runner = new ShadowRunner(classifier, { samplePercent: 100, queueCapacity: 3 });
    runner.offer(Array.from({ length: 5 }, (_, i) => ({ text: `t${i}`, event: event(`id${i}`, "positive") })));
    assert.equal(runner.skipped.queue_full, 2);
    release();
    await runner.idle();
    assert.equal(runner.skipped.failed, 3);
    assert.equal(runner.stats.compared, 0);
    await runner.stop();
    assert.ok(isClosed());
    runner.offer([{ text: "late", event: event("late", "positive") }]);
    assert.equal(runner.queued, 0, "a stopped shadow takes nothing");
  });
});
