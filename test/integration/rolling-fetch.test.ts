/**
 * The rolling fetch (src/kafka/rolling-fetch.ts) against the real broker, through kafkajs's
 * consumer as the worker runs it: a partition is fetched again while another partition's batch is
 * still being worked on, with every record delivered once and in order; a seek on a partition whose
 * batch is in flight keeps that batch stale and is applied after it; a stop waits for the batch in
 * flight. (kafkajs's own fetch loop would never deliver partition 1 again while partition 0's batch
 * waits: test/unit/rolling-fetch.test.ts shows it on kafkajs's module.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Batch, Consumer } from "kafkajs";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";

let client: KafkaTestClient;

openForFile((opened) => {
  ({ client } = opened);
});

const until = async (condition: () => boolean, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** A topic of two partitions, `perPartition` records each, produced one send at a time so fetches return a few at once. */
async function twoPartitionTopic(perPartition: number): Promise<string> {
  const topic = await client.createTopic("rolling-fetch", 2);
  for (let i = 0; i < perPartition; i++) {
    await client.produce(topic, [
      { partition: 0, key: `a${i}`, value: `0:${i}` },
      { partition: 1, key: `b${i}`, value: `1:${i}` },
    ]);
  }
  return topic;
}

interface Delivered {
  partition: number;
  values: string[];
}

/** A consumer of `topic` as the worker's runs (eachBatch, no auto-resolve, two partitions at once). */
async function consume(
  topic: string,
  eachBatch: (batch: Batch, controls: { isStale(): boolean; resolveOffset(offset: string): void }) => Promise<void>,
): Promise<Consumer> {
  const consumer = client.kafka.consumer({ groupId: uniqueName("rolling-fetch"), maxBytesPerPartition: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 2,
    eachBatch: async ({ batch, isStale, resolveOffset }) => eachBatch(batch, { isStale, resolveOffset }),
  });
  return consumer;
}

describe("the rolling fetch", () => {
  it("fetches a partition again while another partition's batch is in flight, every record once and in order", async () => {
    const topic = await twoPartitionTopic(40);
    const delivered: Delivered[] = [];
    let releaseFirst: () => void = () => {};
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    let heldBatchDone = false;
    let partition1WhileHeld = 0;
    let holding = true;
    const consumer = await consume(topic, async (batch, { resolveOffset }) => {
      const values = batch.messages.map((m) => String(m.value));
      delivered.push({ partition: batch.partition, values });
      if (batch.partition === 1 && holding) partition1WhileHeld += values.length;
      if (batch.partition === 0 && holding) {
        // Partition 0's first batch stays in flight until partition 1 was fetched to its end.
        await firstHeld;
        heldBatchDone = true;
      }
      resolveOffset(batch.lastOffset());
    });
    try {
      await until(() => partition1WhileHeld >= 40, "partition 1 to be read to its end while partition 0's batch waits");
      assert.equal(heldBatchDone, false);
      // Several fetches of partition 1 happened meanwhile (200 bytes a partition per fetch).
      assert.ok(delivered.filter((d) => d.partition === 1).length > 3);
      holding = false;
      releaseFirst();
      const count = (p: number) => delivered.filter((d) => d.partition === p).flatMap((d) => d.values);
      await until(() => count(0).length >= 40, "partition 0 to be read to its end");
      await new Promise((r) => setTimeout(r, 500));
      for (const p of [0, 1]) {
        assert.deepEqual(
          count(p),
          Array.from({ length: 40 }, (_, i) => `${p}:${i}`),
        );
      }
    } finally {
      releaseFirst();
      await consumer.disconnect();
    }
  });

  it("keeps a batch in flight stale after a seek of its partition, and applies the seek after it", async () => {
    const topic = await twoPartitionTopic(20);
    const delivered: Delivered[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    let staleAtEnd: boolean | undefined;
    let partition1Batches = 0;
    let consumer: Consumer | undefined;
    consumer = await consume(topic, async (batch, { isStale, resolveOffset }) => {
      delivered.push({ partition: batch.partition, values: batch.messages.map((m) => String(m.value)) });
      if (batch.partition === 1) partition1Batches += 1;
      if (batch.partition === 0 && first) {
        first = false;
        const before = partition1Batches;
        (consumer as Consumer).seek({ topic, partition: 0, offset: "5" });
        // Partition 1 is fetched meanwhile: those fetches must not apply partition 0's seek.
        await until(() => partition1Batches >= before + 2, "fetches of partition 1");
        await held;
        staleAtEnd = isStale();
        if (!isStale()) resolveOffset(batch.lastOffset());
        return;
      }
      resolveOffset(batch.lastOffset());
    });
    try {
      await until(() => staleAtEnd !== undefined || partition1Batches >= 3, "partition 1's fetches");
      release();
      const zero = () => delivered.filter((d) => d.partition === 0);
      await until(
        () =>
          zero().length >= 2 &&
          zero()
            .flatMap((d) => d.values)
            .includes("0:19"),
        "partition 0 after the seek",
      );
      assert.equal(staleAtEnd, true);
      // After the held batch, partition 0 is read from the seek's offset.
      assert.equal((zero()[1] as Delivered).values[0], "0:5");
    } finally {
      release();
      await consumer.disconnect();
    }
  });

  it("ends a stop only once the batch in flight has", async () => {
    const topic = await twoPartitionTopic(10);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let inFlight = false;
    let ended = false;
    const consumer = await consume(topic, async (batch, { resolveOffset }) => {
      if (batch.partition === 0 && !ended) {
        inFlight = true;
        await held;
        ended = true;
      }
      resolveOffset(batch.lastOffset());
    });
    await until(() => inFlight, "partition 0's batch in flight");
    let stopped = false;
    const stopping = consumer.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(stopped, false, "the stop returned while a batch was in flight");
    release();
    await stopping;
    assert.equal(ended, true);
    await consumer.disconnect();
  });
});
