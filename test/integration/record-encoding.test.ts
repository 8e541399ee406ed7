/**
 * Our record and record batch encoders (src/kafka/record-encoder.ts, record-batch-encoder.ts,
 * crc32c.ts) against the real broker: varied records produced in transactions, one committed and
 * one aborted, read back exactly (keys and values byte for byte, headers, timestamps) by a
 * read_committed reader; and the broker's own check of a batch's CRC-32C, which refuses a batch
 * whose CRC is off by one bit, so its taking ours means ours is right.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Message } from "kafkajs";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";

let client: KafkaTestClient;

openForFile((opened) => {
  ({ client } = opened);
});

interface Read {
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, unknown>;
  timestamp: string;
}

/** Every record of `topic` a read_committed reader gets, once `count` arrived, in offset order per partition. */
async function readCommitted(topic: string, count: number): Promise<Read[]> {
  const consumer = client.kafka.consumer({ groupId: uniqueName("encoding-reader"), readUncommitted: false });
  const records: (Read & { offset: bigint })[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const deadline = Date.now() + 60_000;
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: BigInt(message.offset),
          key: message.key,
          value: message.value,
          headers: { ...message.headers },
          timestamp: message.timestamp,
        });
      },
    });
    while (records.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // A little longer: a record past `count` (an aborted one let through) would show.
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    await consumer.disconnect();
  }
  records.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
  return records.map(({ offset: _, ...rest }) => rest);
}

/** Varied records, each sent to partition `i % 3`. */
function variedMessages(): Message[] {
  const messages: Message[] = [
    { key: null, value: null },
    { key: "", value: "" },
    { key: Buffer.from([0, 255, 1, 254]), value: Buffer.alloc(0) },
    { key: "ключ 😀", value: "نوال الزغبي: значение, 值, 🚀" },
    { key: "large", value: Buffer.alloc(300_000, 0xab) },
    {
      key: "many headers",
      value: "{}",
      headers: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`h${i}`, `v${i} é`])),
    },
    // A null header value (our fix) and a repeated name.
    { key: "headers", value: "{}", headers: { traceparent: null, a: ["1", Buffer.from([2])], "": "" } as never },
    { key: "old", value: "a timestamp of 2001", timestamp: "1000000000000" },
  ];
  for (let i = 0; i < 100; i++) {
    messages.push({
      key: `k${i}`,
      value: JSON.stringify({ id: i, text: "x".repeat(i * 13) }),
      headers: { "sw-schema": "sentiment.v1", "content-type": "application/json" },
      timestamp: String(1_765_000_000_000 + i * 1000),
    });
  }
  return messages.map((m, i) => ({ ...m, partition: i % 3 }));
}

const bytes = (v: Buffer | string | null | undefined) => (v === null || v === undefined ? null : Buffer.from(v));
/** What a reader gets for a header: a Buffer, null, or an array of them for a repeated name. */
const readHeader = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(readHeader) : bytes(v as Buffer | string | null | undefined);

describe("records written by our encoder, through the real broker", () => {
  it("a committed transaction of varied records reads back exactly; an aborted one not at all", async () => {
    const topic = await client.createTopic("encoding", 3);
    const producer = client.kafka.producer({
      transactionalId: uniqueName("encoding-tx"),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const messages = variedMessages();
    try {
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: messages.slice(0, 20).map((m) => ({ ...m, value: "aborted" })) });
      await aborted.abort();
      const committed = await producer.transaction();
      // Two sends: each partition's second batch follows its first in one transaction (sequences go on).
      await committed.send({ topic, messages: messages.slice(0, 50) });
      await committed.send({ topic, messages: messages.slice(50) });
      await committed.commit();
    } finally {
      await producer.disconnect();
    }

    const read = await readCommitted(topic, messages.length);
    const expected = [0, 1, 2].flatMap((partition) =>
      messages
        .filter((m) => m.partition === partition)
        .map((m) => ({
          partition,
          key: bytes(m.key),
          value: bytes(m.value),
          headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, readHeader(v)])),
        })),
    );
    assert.equal(read.length, expected.length);
    assert.deepEqual(
      read.map(({ timestamp: _, ...r }) => r),
      expected,
    );
    // Timestamps as given; the records without one were stamped at the send.
    const old = read.find((r) => String(r.key) === "old");
    assert.equal(old?.timestamp, "1000000000000");
    const k7 = read.find((r) => String(r.key) === "k7");
    assert.equal(k7?.timestamp, String(1_765_000_000_000 + 7000));
    const stamped = read.find((r) => String(r.key) === "large");
    assert.ok(Math.abs(Number(stamped?.timestamp) - Date.now()) < 5 * 60_000);
  });

  it("the broker refuses a batch whose CRC-32C is wrong, so it checks ours", async () => {
    const topic = await client.createTopic("encoding-crc", 1);
    const producer = client.kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    // Our batch encoder writes the CRC with writeUInt32BE, and nothing else of a produce request does: flip a bit of it.
    const writeUInt32BE = Buffer.prototype.writeUInt32BE;
    try {
      await producer.send({ topic, messages: [{ value: "fine" }] });
      Buffer.prototype.writeUInt32BE = function (this: Buffer, value: number, offset?: number) {
        return writeUInt32BE.call(this, (value ^ 1) >>> 0, offset);
      };
      await assert.rejects(producer.send({ topic, messages: [{ value: "corrupt" }] }), (error: Error) => {
        assert.match(`${error.message} ${(error as { type?: string }).type}`, /CORRUPT_MESSAGE|CRC|corrupt/i);
        return true;
      });
    } finally {
      Buffer.prototype.writeUInt32BE = writeUInt32BE;
      await producer.disconnect();
    }
    const read = await readCommitted(topic, 1);
    assert.deepEqual(
      read.map((r) => String(r.value)),
      ["fine"],
    );
  });
});
