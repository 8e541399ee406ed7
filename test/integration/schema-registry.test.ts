/**
 * Avro and Protobuf topics through a real schema registry (Apicurio Registry's Confluent API,
 * started by scripts/services.mjs) and the real broker: posts become events with their exact ids
 * and the text of a nested field, a schema that gains a field mid-stream keeps working, a wrong
 * schema id is one dead letter, and a registry that is down at start-up holds the worker (not ready,
 * no dead letters) until it answers, then everything is tagged.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import avro from "avsc";
import protobuf from "protobufjs";
import { startWorker, type Worker } from "../../src/pipeline/live-worker.js";
import { HEADERS } from "../../src/sinks/kafka/records.js";
import { tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient, ReadRecord } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { RegistryProxy, registerSchema, registryUrl, wireValue } from "../helpers/schema-registry.js";
import type { TestServices } from "../helpers/services.js";
import { configOf, workerSetup } from "../helpers/worker-setup.js";

const registry = registryUrl();
const skip = "skip" in registry ? registry.skip : false;
const url = "url" in registry ? registry.url : "";
const texts = tinyTexts();

let services: TestServices;
let client: KafkaTestClient;
if (!skip) {
  openForFile((opened) => {
    ({ services, client } = opened);
  });
}

const POST_V1 = {
  type: "record",
  name: "Post",
  namespace: "feed.test",
  fields: [
    { name: "postId", type: "string" },
    { name: "author", type: { type: "record", name: "Author", fields: [{ name: "handle", type: "string" }] } },
    { name: "content", type: { type: "record", name: "Content", fields: [{ name: "body", type: "string" }] } },
  ],
};
/** v1 and an optional field with a default: a backward-compatible change, as producers make them. */
const POST_V2 = {
  ...POST_V1,
  fields: [...POST_V1.fields, { name: "likes", type: ["null", "long"], default: null }],
};
const PROTO = `syntax = "proto3";
package feed.test;
message Envelope { string kind = 1; }
message Post {
  message Content { string body = 1; }
  string post_id = 1;
  Content content = 2;
  int64 likes = 3;
}
`;

/** Ids of the sort a feed has: exact strings, one that looks like a number past 2^53. */
const postId = (i: number) => (i === 3 ? "9007199254740993" : `post-${i}-ü`);

async function setup(flags: Record<string, string>) {
  return workerSetup(client, services, {
    partitions: 2,
    flags: {
      "input.schemaRegistry.url": url,
      "input.textField": "content.body",
      "input.passthrough": "true",
      ...flags,
    },
  });
}

/**
 * The end offsets of `topic` summed: 0 exactly when nothing was ever written to it (a transaction
 * adds a topic only when it sends to it, so no commit marker lands there either).
 */
async function recordCount(topic: string): Promise<number> {
  return (await client.admin.fetchTopicOffsets(topic)).reduce((n, e) => n + Number(e.high), 0);
}

async function run(s: Awaited<ReturnType<typeof setup>>, total: number, deadLetters = 0) {
  const worker = await startWorker(configOf(s));
  try {
    await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 60_000);
  } finally {
    await worker.stop();
  }
  return {
    events: (await client.readAll(s.output, { count: total, quietMs: 500 })).map((r) => JSON.parse(String(r.value))),
    dead: deadLetters > 0 ? await client.readAll(s.dlq, { count: deadLetters, quietMs: 500 }) : [],
    deadCount: await recordCount(s.dlq),
  };
}

const codes = (dead: readonly ReadRecord[]) => dead.map((d) => String(d.headers[HEADERS.errorCode]));

describe("schema registry formats", { skip }, () => {
  it("Avro posts become events: ids exact, text from a nested field, decoded fields passed through", async () => {
    const s = await setup({ "input.format": "avro", "input.idField": "postId" });
    const id = await registerSchema(url, `${s.input}-value`, JSON.stringify(POST_V1));
    const type = avro.Type.forSchema(POST_V1 as avro.Schema);
    const total = 40;
    await client.produce(
      s.input,
      Array.from({ length: total }, (_, i) => ({
        key: `user-${i % 5}`,
        value: wireValue(
          id,
          type.toBuffer({
            postId: postId(i),
            author: { handle: `@u${i}` },
            content: { body: texts[i % texts.length] },
          }),
        ),
      })),
    );
    const { events, deadCount } = await run(s, total);
    assert.equal(deadCount, 0);
    assert.deepEqual(events.map((e) => e.id).sort(), Array.from({ length: total }, (_, i) => postId(i)).sort());
    const third = events.find((e) => e.id === postId(7));
    assert.deepEqual(third.input, {
      postId: postId(7),
      author: { handle: "@u7" },
      content: { body: texts[7 % texts.length] },
    });
    assert.ok(["positive", "neutral", "negative"].includes(third.sentiment.label));
  });

  it("Protobuf posts become events: the message the indexes name, ids exact, text from a nested field", async () => {
    const s = await setup({ "input.format": "protobuf", "input.idField": "post_id" });
    const id = await registerSchema(url, `${s.input}-value`, PROTO, "PROTOBUF");
    const Post = protobuf.parse(PROTO, { keepCase: true }).root.lookupType("feed.test.Post");
    const total = 30;
    await client.produce(
      s.input,
      Array.from({ length: total }, (_, i) => ({
        value: wireValue(
          id,
          Post.encode(
            Post.fromObject({ post_id: postId(i), content: { body: texts[i % texts.length] }, likes: 1000 + i }),
          ).finish(),
          // Post is the file's second message.
          [1],
        ),
      })),
    );
    const { events, deadCount } = await run(s, total);
    assert.equal(deadCount, 0);
    assert.deepEqual(events.map((e) => e.id).sort(), Array.from({ length: total }, (_, i) => postId(i)).sort());
    const fifth = events.find((e) => e.id === postId(5));
    // int64 as text, as proto3's JSON mapping writes it.
    assert.deepEqual(fifth.input, { post_id: postId(5), content: { body: texts[5 % texts.length] }, likes: "1005" });
  });

  it("a schema that gains an optional field mid-stream keeps working: old and new records both become events", async () => {
    const s = await setup({ "input.format": "avro", "input.idField": "postId" });
    const subject = `${s.input}-value`;
    const v1 = await registerSchema(url, subject, JSON.stringify(POST_V1));
    const v2 = await registerSchema(url, subject, JSON.stringify(POST_V2));
    assert.notEqual(v1, v2);
    const [t1, t2] = [avro.Type.forSchema(POST_V1 as avro.Schema), avro.Type.forSchema(POST_V2 as avro.Schema)];
    const post = (i: number) => ({
      postId: `p${i}`,
      author: { handle: "@a" },
      content: { body: texts[i % texts.length] },
    });
    await client.produce(
      s.input,
      Array.from({ length: 15 }, (_, i) => ({ value: wireValue(v1, t1.toBuffer(post(i))) })),
    );
    const worker = await startWorker(configOf(s));
    try {
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 60_000);
      // The producer upgrades while the worker runs.
      await client.produce(
        s.input,
        Array.from({ length: 15 }, (_, j) => ({ value: wireValue(v2, t2.toBuffer({ ...post(15 + j), likes: j })) })),
      );
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 60_000);
    } finally {
      await worker.stop();
    }
    const events = (await client.readAll(s.output, { count: 30, quietMs: 500 })).map((r) =>
      JSON.parse(String(r.value)),
    );
    assert.equal(await recordCount(s.dlq), 0);
    assert.deepEqual(events.map((e) => e.id).sort(), Array.from({ length: 30 }, (_, i) => `p${i}`).sort());
    assert.equal(events.find((e) => e.id === "p3").input.likes, undefined);
    assert.equal(events.find((e) => e.id === "p20").input.likes, 5);
  });

  it("a record with a wrong schema id is one dead letter (SCHEMA_NOT_FOUND), its neighbours events; a record without the magic byte another", async () => {
    const s = await setup({ "input.format": "avro", "input.idField": "postId" });
    const id = await registerSchema(url, `${s.input}-value`, JSON.stringify(POST_V1));
    const type = avro.Type.forSchema(POST_V1 as avro.Schema);
    const good = (i: number) =>
      wireValue(id, type.toBuffer({ postId: `g${i}`, author: { handle: "@a" }, content: { body: texts[i] } }));
    // An id no registry has given out (the registry answers 404, error 40403).
    const wrong = Buffer.from(good(3));
    wrong.writeUInt32BE(2_000_000_000, 1);
    await client.produce(s.input, [
      { value: good(0) },
      { value: good(1) },
      { value: wrong },
      { value: good(2) },
      { value: Buffer.from(JSON.stringify({ postId: "json", content: { body: "plain JSON" } })) },
    ]);
    const { events, dead } = await run(s, 3, 2);
    assert.deepEqual(events.map((e) => e.id).sort(), ["g0", "g1", "g2"]);
    assert.deepEqual(codes(dead).sort(), ["NO_MAGIC_BYTE", "SCHEMA_NOT_FOUND"]);
    const notFound = dead.find((d) => String(d.headers[HEADERS.errorCode]) === "SCHEMA_NOT_FOUND");
    assert.deepEqual(notFound?.value, wrong, "the dead letter keeps the record's bytes");
  });

  it("the registry down at start-up: not ready, no dead letters, nothing tagged; once it answers everything is", async () => {
    const proxy = await RegistryProxy.create(url);
    const s = await setup({ "input.format": "avro", "input.idField": "postId", "input.schemaRegistry.url": proxy.url });
    const id = await registerSchema(url, uniqueName("down-value"), JSON.stringify(POST_V1));
    const type = avro.Type.forSchema(POST_V1 as avro.Schema);
    const total = 24;
    await client.produce(
      s.input,
      Array.from({ length: total }, (_, i) => ({
        value: wireValue(id, type.toBuffer({ postId: `d${i}`, author: { handle: "@a" }, content: { body: texts[i] } })),
      })),
    );
    let worker: Worker | undefined;
    try {
      worker = await startWorker(configOf(s));
      const deadline = Date.now() + 30_000;
      while (worker.readiness().schemaRegistry !== false && Date.now() < deadline) await sleep(100);
      assert.equal(worker.readiness().schemaRegistry, false, "not ready while the registry does not answer");
      assert.equal(worker.isReady(), false);
      await sleep(3000);
      assert.equal(worker.counters.events, 0);
      assert.equal(await recordCount(s.dlq), 0, "no dead letters while the registry is down");
      await proxy.start();
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 60_000);
      assert.equal(worker.readiness().schemaRegistry, true);
    } finally {
      await worker?.stop();
      await proxy.stop();
    }
    const events = await client.readAll(s.output, { count: total, quietMs: 500 });
    assert.deepEqual(
      events.map((r) => JSON.parse(String(r.value)).id).sort(),
      Array.from({ length: total }, (_, i) => `d${i}`).sort(),
    );
    assert.equal(await recordCount(s.dlq), 0);
  });

  it("output.format avro: events a consumer reads knowing only the registry; the subject BACKWARD", async () => {
    const s = await workerSetup(client, services, {
      partitions: 1,
      flags: { "input.schemaRegistry.url": url, "output.format": "avro", "input.passthrough": "true" },
    });
    const total = 12;
    await client.produce(
      s.input,
      Array.from({ length: total }, (_, i) => ({ value: JSON.stringify({ id: `a${i}`, text: texts[i], n: 10 ** i }) })),
    );
    const worker = await startWorker(configOf(s));
    try {
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 60_000);
    } finally {
      await worker.stop();
    }
    const records = await client.readAll(s.output, { count: total, quietMs: 500 });
    // What a consumer does: the id from the header, the schema from the registry, then decode.
    const types = new Map<number, avro.Type>();
    const events = [];
    for (const r of records) {
      const value = r.value as Buffer;
      assert.equal(value[0], 0, "the magic byte");
      const id = value.readUInt32BE(1);
      if (!types.has(id)) {
        const answer = (await (await fetch(`${url}/schemas/ids/${id}`)).json()) as { schema: string };
        types.set(id, avro.Type.forSchema(JSON.parse(answer.schema)));
      }
      events.push((types.get(id) as avro.Type).fromBuffer(value.subarray(5)));
    }
    assert.equal(types.size, 1);
    assert.deepEqual(events.map((e) => e.id).sort(), Array.from({ length: total }, (_, i) => `a${i}`).sort());
    const third = events.find((e) => e.id === "a3");
    assert.equal(third.schema, "sentiment.v1");
    assert.equal(third.source.topic, s.input);
    assert.ok(["positive", "neutral", "negative"].includes(third.sentiment.label));
    assert.deepEqual(JSON.parse(third.input), { id: "a3", text: texts[3], n: 1000 });
    const config = (await (await fetch(`${url}/config/${encodeURIComponent(`${s.output}-value`)}`)).json()) as {
      compatibilityLevel?: string;
    };
    assert.equal(config.compatibilityLevel, "BACKWARD");
  });
});
