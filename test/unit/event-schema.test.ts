import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  SENTIMENT_EVENT_SCHEMA,
  sentimentEventJsonSchema,
  sentimentEventSchema,
} from "../../src/events/sentiment-event.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

const event = {
  schema: "sentiment.v1",
  id: "post-1",
  source: {
    topic: "posts",
    partition: 2,
    offset: "41",
    timestamp: "2026-11-27T10:00:00.000Z",
    timestampMs: "1795773600000",
  },
  sentiment: { label: "positive", score: 0.9, scores: { positive: 0.9, neutral: 0.07, negative: 0.03 } },
  truncated: false,
  model: { name: "Xenova/distilbert-base-multilingual-cased-sentiments-student", revision: "abc" },
  processedAt: "2026-11-27T10:00:00.010Z",
};

describe("the sentiment.v1 event schema", () => {
  it("accepts a complete event and rejects one with an unknown label or a missing field", () => {
    assert.ok(sentimentEventSchema.safeParse(event).success);
    assert.equal(
      sentimentEventSchema.safeParse({ ...event, sentiment: { ...event.sentiment, label: "happy" } }).success,
      false,
    );
    const { model: _, ...withoutModel } = event;
    assert.equal(sentimentEventSchema.safeParse(withoutModel).success, false);
  });

  it("requires the raw record time, and accepts an event whose time a date cannot hold", () => {
    const { timestampMs: _, ...withoutMs } = event.source;
    assert.equal(sentimentEventSchema.safeParse({ ...event, source: withoutMs }).success, false);
    assert.equal(
      sentimentEventSchema.safeParse({ ...event, source: { ...event.source, timestampMs: "soon" } }).success,
      false,
    );
    const outOfRange = { ...event.source, timestamp: "", timestampMs: "9000000000000000" };
    assert.ok(sentimentEventSchema.safeParse({ ...event, source: outOfRange }).success);
  });

  it("is committed as a JSON Schema file that matches the code", () => {
    const committed = readFileSync(join(REPO_ROOT, "schemas", `${SENTIMENT_EVENT_SCHEMA}.json`), "utf8");
    assert.ok(committed === `${JSON.stringify(sentimentEventJsonSchema(), null, 2)}\n`, "stale: run `npm run docs`");
  });
});
