/**
 * Proves the test harness end to end against the real broker and Redis: topics, a consumer group
 * with committed offsets, a transaction that commits consumer offsets (the exactly-once building
 * block), and a Redis round trip.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import type { Admin } from "kafkajs";
import { Kafka, logLevel } from "../../src/kafka/kafkajs.js";
import { createTopics } from "../../src/kafka/topics.js";
import { uniqueName } from "../helpers/names.js";
import { type TestServices, testServices } from "../helpers/services.js";

let services: TestServices;
let kafka: Kafka;
let admin: Admin;

before(async () => {
  services = await testServices();
  kafka = new Kafka({ brokers: services.kafkaBrokers, clientId: "harness-test", logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
  await services?.stop();
});

async function createTopic(prefix: string, numPartitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  await createTopics(admin, [{ topic, numPartitions }]);
  return topic;
}

/** Consumes until `count` messages arrived; gives up after `timeoutMs`. */
async function consumeAll(
  topic: string,
  groupId: string,
  count: number,
  options: { readUncommitted?: boolean; commit?: boolean } = {},
): Promise<Map<number, string[]>> {
  const consumer = kafka.consumer({ groupId, readUncommitted: options.readUncommitted ?? false });
  const byPartition = new Map<number, string[]>();
  let seen = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen} of ${count} messages arrived`)), 30_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const values = byPartition.get(partition) ?? [];
          values.push(message.value?.toString() ?? "");
          byPartition.set(partition, values);
          if (options.commit) {
            await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
          }
          if (++seen === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return byPartition;
}

describe("Kafka harness", () => {
  it("produces to 3 partitions, consumes in a group, commits offsets and reads them back", async () => {
    const topic = await createTopic("harness", 3);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = Array.from({ length: 60 }, (_, i) => ({ key: `key-${i % 7}`, value: `message-${i}` }));
    await producer.send({ topic, messages });
    await producer.disconnect();

    const groupId = uniqueName("harness-group");
    const received = await consumeAll(topic, groupId, messages.length, { commit: true });
    assert.equal(received.size, 3, "every partition received messages");
    const all = [...received.values()].flat();
    assert.deepEqual(all.sort(), messages.map((m) => m.value).sort());
    for (const values of received.values()) {
      // Per-partition order is production order.
      const indexes = values.map((v) => Number(v.split("-")[1]));
      assert.deepEqual(
        indexes,
        [...indexes].sort((a, b) => a - b),
      );
    }

    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.ok(committed);
    for (const { partition, offset } of committed.partitions) {
      const end = ends.find((e) => e.partition === partition);
      assert.equal(offset, end?.high, `partition ${partition} committed up to its end`);
      assert.equal(Number(offset), received.get(partition)?.length);
    }
  });

  it("commits outputs and consumer offsets in one transaction; aborted outputs stay invisible", async () => {
    const input = await createTopic("harness-in", 1);
    const output = await createTopic("harness-out", 1);
    const groupId = uniqueName("harness-txn-group");
    const producer = kafka.producer({
      transactionalId: uniqueName("harness-txn"),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();

    const committedTxn = await producer.transaction();
    await committedTxn.send({ topic: output, messages: [{ value: "kept-1" }, { value: "kept-2" }] });
    await committedTxn.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: "2" }] }],
    });
    await committedTxn.commit();

    const abortedTxn = await producer.transaction();
    await abortedTxn.send({ topic: output, messages: [{ value: "aborted" }] });
    await abortedTxn.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: "9" }] }],
    });
    await abortedTxn.abort();

    const after = await producer.transaction();
    await after.send({ topic: output, messages: [{ value: "kept-3" }] });
    await after.commit();
    await producer.disconnect();

    const readCommitted = await consumeAll(output, uniqueName("reader"), 3);
    assert.deepEqual(readCommitted.get(0), ["kept-1", "kept-2", "kept-3"]);
    const readUncommitted = await consumeAll(output, uniqueName("reader"), 4, { readUncommitted: true });
    assert.deepEqual(readUncommitted.get(0), ["kept-1", "kept-2", "aborted", "kept-3"]);

    const [offsets] = await admin.fetchOffsets({ groupId, topics: [input] });
    assert.deepEqual(offsets?.partitions, [{ partition: 0, offset: "2", metadata: null }]);
  });
});

describe("Redis harness", () => {
  it("sets a key with a TTL, reads it back and deletes it", async () => {
    const redis = new Redis(services.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      const key = uniqueName("harness:key");
      assert.equal(await redis.set(key, "value", "EX", 60, "NX"), "OK");
      assert.equal(await redis.set(key, "other", "EX", 60, "NX"), null, "NX keeps the first writer");
      assert.equal(await redis.get(key), "value");
      const ttl = await redis.pttl(key);
      assert.ok(ttl > 0 && ttl <= 60_000, `TTL ${ttl}`);
      assert.equal(await redis.del(key), 1);
      assert.equal(await redis.get(key), null);
    } finally {
      redis.disconnect();
    }
  });
});
