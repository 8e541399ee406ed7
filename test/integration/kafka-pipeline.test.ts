/**
 * The live worker against the real broker and Redis, started through the programmatic API as a
 * user's own tests would: what lands on the output and dead-letter topics, and the offsets.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Config, loadConfig } from "../../src/config/index.js";
import { type SentimentEvent, sentimentEventSchema } from "../../src/events/sentiment-event.js";
import { startWorker, type Worker } from "../../src/pipeline/live-worker.js";
import { HEADERS } from "../../src/sinks/kafka/records.js";
import { TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient, ReadRecord } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import type { TestServices } from "../helpers/services.js";

const LANGS = ["en", "ar", "de", "es", "fr", "ja", "zh", "id", "hi", "it", "ms", "pt"];
const parity = tinyParity();
const corpus = parity.items.filter((i) => LANGS.includes(i.lang));
const probsByText = new Map(parity.items.map((i) => [i.text, i.probs]));

let services: TestServices;
let client: KafkaTestClient;
const workers: Worker[] = [];

openForFile(
  (opened) => {
    ({ services, client } = opened);
  },
  { beforeClose: () => Promise.all(workers.map((w) => w.stop())) },
);

interface Topics {
  input: string;
  output: string;
  dlq: string;
}

async function topics(partitions: number): Promise<Topics> {
  return {
    input: await client.createTopic("posts", partitions),
    output: await client.createTopic("sentiment", 3),
    dlq: await client.createTopic("dead-letters", 1),
  };
}

function workerConfig(t: Topics, flags: Record<string, string> = {}): Config {
  return loadConfig({
    env: {},
    flags: {
      "input.source": "kafka",
      "kafka.brokers": services.kafkaBrokers.join(","),
      "kafka.inputTopics": t.input,
      "kafka.outputTopic": t.output,
      "kafka.deadLetterTopic": t.dlq,
      "kafka.groupId": uniqueName("worker"),
      "dedup.redisUrl": services.redisUrl,
      "dedup.keyPrefix": `${uniqueName("seen")}:`,
      "model.dir": TINY_MODEL_DIR,
      "runtime.intraOpThreads": "1",
      "telemetry.httpPort": "0",
      "telemetry.logLevel": "warn",
      ...flags,
    },
  });
}

async function run(config: Config): Promise<Worker> {
  const worker = await startWorker(config);
  workers.push(worker);
  return worker;
}

const events = (records: ReadRecord[]) =>
  records.map((r) => ({ record: r, event: sentimentEventSchema.parse(JSON.parse(String(r.value))) as SentimentEvent }));

describe("the Kafka worker", () => {
  it("tags 1,000 messages in 12 languages over 6 partitions: each id once, per-key order kept, scores as classify", async () => {
    const t = await topics(6);
    const messages = Array.from({ length: 1000 }, (_, i) => {
      const item = corpus[i % corpus.length];
      return { key: `user-${i % 41}`, value: JSON.stringify({ id: `m-${i}`, text: item?.text, lang: item?.lang }) };
    });
    await client.produce(t.input, messages);
    const config = workerConfig(t);
    const worker = await run(config);
    await client.waitForGroupAtEnd(config.kafka.groupId, t.input);
    const out = events(await client.readAll(t.output, { count: 1000 }));

    assert.equal(out.length, 1000, "exactly one event per message");
    assert.equal(new Set(out.map((o) => o.event.id)).size, 1000, "every id once");
    const byKey = new Map<string, bigint[]>();
    for (const { record, event } of out) {
      assert.equal(record.key, messages[Number(event.id.slice(2))]?.key, "keyed by the input key");
      const offsets = byKey.get(record.key ?? "") ?? [];
      offsets.push(BigInt(event.source.offset));
      byKey.set(record.key ?? "", offsets);
      const text = JSON.parse(messages[Number(event.id.slice(2))]?.value ?? "{}").text as string;
      for (const label of ["positive", "neutral", "negative"] as const) {
        assert.ok(Math.abs(event.sentiment.scores[label] - (probsByText.get(text)?.[label] ?? -1)) < 1e-5);
      }
    }
    for (const [k, offsets] of byKey) {
      assert.deepEqual(
        offsets,
        [...offsets].sort((a, b) => (a < b ? -1 : 1)),
        `order of key ${k}`,
      );
    }
    assert.equal(new Set(out.map((o) => o.event.lang)).size, 12);
    assert.equal(worker.counters.events, 1000);
    assert.ok(worker.isReady());
  });

  it("does not tag an id twice within the TTL, across offsets, replays and groups; a new model revision re-tags", async () => {
    const t = await topics(2);
    const first = Array.from({ length: 40 }, (_, i) => ({
      key: `k${i % 5}`,
      value: JSON.stringify({ id: `d-${i}`, text: corpus[i]?.text }),
    }));
    await client.produce(t.input, first);
    const config = workerConfig(t);
    await run(config);
    await client.waitForGroupAtEnd(config.kafka.groupId, t.input);
    // The same ids again: re-posts at other offsets, then the whole topic replayed.
    await client.produce(t.input, [...first.slice(0, 10), ...first]);
    await client.waitForGroupAtEnd(config.kafka.groupId, t.input);
    const tagged = events(await client.readAll(t.output, { count: 40 }));
    assert.equal(tagged.length, 40);
    assert.equal(new Set(tagged.map((o) => o.event.id)).size, 40);

    // Another group reading the same topic with the same model and key prefix: all seen.
    const sameModel = workerConfig(t, { "dedup.keyPrefix": config.dedup.keyPrefix });
    const second = await run(sameModel);
    await client.waitForGroupAtEnd(sameModel.kafka.groupId, t.input);
    assert.equal(second.counters.events, 0);
    assert.equal(second.counters.duplicates, 90);

    // Another model revision (the int8 export has another hash): everything is tagged again.
    const newModel = workerConfig(t, { "dedup.keyPrefix": config.dedup.keyPrefix, "model.variant": "int8" });
    const third = await run(newModel);
    await client.waitForGroupAtEnd(newModel.kafka.groupId, t.input);
    assert.equal(third.counters.events, 40);
    const all = events(await client.readAll(t.output, { count: 80 }));
    assert.equal(all.length, 80);
    assert.equal(new Set(all.map((o) => o.event.model.revision)).size, 2);
  });

  it("answers an identical normalised text from the result cache, with the same scores, without running the model", async () => {
    const t = await topics(1);
    const texts = corpus.slice(0, 5).map((item) => item.text);
    const post = (id: string, text: string) => ({ key: "k", value: JSON.stringify({ id, text }) });
    await client.produce(
      t.input,
      texts.map((text, i) => post(`first-${i}`, text)),
    );
    const config = workerConfig(t, { "dedup.resultCache": "true" });
    const worker = await run(config);
    await client.waitForGroupAtEnd(config.kafka.groupId, t.input);
    assert.equal(worker.counters.cacheHits, 0);
    // New ids, the same texts up to whitespace: from the cache, each once more.
    await client.produce(
      t.input,
      texts.flatMap((text, i) => [post(`again-${i}`, `  ${text.replace(/ /g, "   ")} `), post(`more-${i}`, text)]),
    );
    await client.waitForGroupAtEnd(config.kafka.groupId, t.input);
    assert.equal(worker.counters.cacheHits, 10);
    const out = events(await client.readAll(t.output, { count: 15 }));
    assert.equal(out.length, 15);
    for (const { event } of out) {
      const text = texts[Number(event.id.split("-")[1])] as string;
      for (const label of ["positive", "neutral", "negative"] as const) {
        assert.ok(Math.abs(event.sentiment.scores[label] - (probsByText.get(text)?.[label] ?? -1)) < 1e-5, event.id);
      }
    }
  });

  it("sends each bad record to the dead letters with its code and original bytes, and tags the good ones around it", async () => {
    const t = await topics(1);
    const bad: Array<[string, Buffer | null]> = [
      ["INVALID_JSON", Buffer.from('{"id": "b1", "text": ')],
      ["INVALID_UTF8", Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
      ["SCHEMA", Buffer.from(JSON.stringify({ id: "b3", body: "no text" }))],
      ["EMPTY_TEXT", Buffer.from(JSON.stringify({ id: "b4", text: "   " }))],
      ["TOO_LARGE", Buffer.from(JSON.stringify({ id: "b5", text: "x".repeat(70_000) }))],
    ];
    const messages = [];
    for (const [i, [, value]] of bad.entries()) {
      messages.push({ key: "k", value: JSON.stringify({ id: `g-${i}`, text: corpus[i]?.text }) });
      // The producer's own sw-* headers: they must not pass for the worker's.
      const forged = { "sw-error-code": "FAKE", "sw-truncated": "value", "SW-Error-Code": "FAKE2" };
      messages.push({ key: `bad-${i}`, value, headers: { "x-origin": `test-${i}`, ...forged } });
    }
    messages.push({ key: "tombstone", value: null });
    messages.push({ key: "k", value: JSON.stringify({ id: "g-last", text: corpus[9]?.text }) });
    await client.produce(t.input, messages);
    const config = workerConfig(t);
    const worker = await run(config);
    await client.waitForGroupAtEnd(config.kafka.groupId, t.input);

    const good = events(await client.readAll(t.output, { count: 6 }));
    assert.deepEqual(
      good.map((o) => o.event.id),
      ["g-0", "g-1", "g-2", "g-3", "g-4", "g-last"],
    );
    const letters = await client.readAll(t.dlq, { count: bad.length });
    assert.deepEqual(
      letters.map((l) => String(l.headers[HEADERS.errorCode])),
      bad.map(([code]) => code),
    );
    for (const [i, letter] of letters.entries()) {
      assert.ok(letter.value?.equals(bad[i]?.[1] as Buffer), "original bytes");
      assert.equal(letter.key, `bad-${i}`);
      assert.equal(String(letter.headers["x-origin"]), `test-${i}`, "original headers");
      const ours: string[] = Object.values(HEADERS);
      const swNames = Object.keys(letter.headers).filter((name) => /^sw-/i.test(name));
      assert.deepEqual(
        swNames.filter((name) => !ours.includes(name)),
        [],
        "every sw-* header is the worker's",
      );
      assert.equal(letter.headers[HEADERS.truncated], undefined, "nothing was cut");
      assert.equal(String(letter.headers["original-sw-error-code"]), "FAKE", "the producer's value, renamed");
      assert.equal(String(letter.headers["original-sw-truncated"]), "value");
      assert.equal(String(letter.headers["original-SW-Error-Code"]), "FAKE2");
      assert.equal(String(letter.headers[HEADERS.sourceTopic]), t.input);
      assert.equal(String(letter.headers[HEADERS.sourceOffset]), String(2 * i + 1));
    }
    assert.equal(worker.counters.tombstones, 1);
  });

  it("delivers every message in at-least-once mode, committing after the outputs are acknowledged", async () => {
    const t = await topics(3);
    const messages = corpus
      .slice(0, 60)
      .map((item, i) => ({ key: `u${i % 7}`, value: JSON.stringify({ id: `a-${i}`, text: item.text }) }));
    await client.produce(t.input, messages);
    const config = workerConfig(t, { "kafka.delivery": "at-least-once" });
    await run(config);
    await client.waitForGroupAtEnd(config.kafka.groupId, t.input);
    const out = events(await client.readAll(t.output, { count: 60 }));
    assert.deepEqual(new Set(out.map((o) => o.event.id)), new Set(messages.map((_, i) => `a-${i}`)));
  });
});
