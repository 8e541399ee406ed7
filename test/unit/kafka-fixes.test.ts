/**
 * Our replacements for kafkajs internals: the read_committed filter of aborted transactions, the
 * produce retry, the record decoder and encoder, the default partitioner's murmur2, and the request
 * queue's throttle-check timer. Each must give what
 * Kafka's Java client gives. For each, a test that kafkajs uses ours, and a tripwire that kafkajs's
 * own still has the flaw ours is for: when a kafkajs release fixes one, its tripwire fails, and the
 * replacement can go (kafkajs is pinned to the release the replacements were written for).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import type { Kafka as KafkaJS } from "kafkajs";
import { filterAbortedMessages } from "../../src/kafka/aborted-filter.js";
import { CRC32C_SOURCE, crc32c } from "../../src/kafka/crc32c.js";
import { kafkaErrorType, meansFenced, meansRejoin } from "../../src/kafka/errors.js";
import { checkKafkajsVersion, KAFKAJS_VERSION, REPLACED_MODULES } from "../../src/kafka/kafkajs.js";
import { kafkaClient } from "../../src/kafka/kafkajs-client.js";
import { createPartitioner, murmur2 } from "../../src/kafka/partitioner.js";
import { produceRequest } from "../../src/kafka/produce-request.js";
import { RecordBatch, type RecordBatchOptions } from "../../src/kafka/record-batch-encoder.js";
import { decodeRecord } from "../../src/kafka/record-decoder.js";
import { encodeRecord } from "../../src/kafka/record-encoder.js";
import { createRequest } from "../../src/kafka/request-frame.js";
import { scheduleCheckPendingRequests, type ThrottledRequestQueue } from "../../src/kafka/request-queue-timer.js";
import { createSendMessages, groupMessagesPerPartition } from "../../src/kafka/send-messages.js";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { kafkajsOwn } from "../helpers/kafkajs-own.js";
import { KafkaDecoder, recordBatchBytes, recordDecoder } from "../helpers/record-bytes.js";

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2.js") as (key: Buffer) => number;
const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

describe("kafkajs, pinned", () => {
  it("is the release the replacements were written for, pinned exactly in package.json and its lock", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"));
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8"));
    assert.equal(pkg.dependencies.kafkajs, KAFKAJS_VERSION);
    assert.equal(lock.packages[""].dependencies.kafkajs, KAFKAJS_VERSION);
    assert.equal(lock.packages["node_modules/kafkajs"].version, KAFKAJS_VERSION);
    assert.equal((require("kafkajs/package.json") as { version: string }).version, KAFKAJS_VERSION);
  });

  it("stops start-up on any other release, naming every replaced module", () => {
    assert.doesNotThrow(() => checkKafkajsVersion(KAFKAJS_VERSION));
    assert.throws(
      () => checkKafkajsVersion("2.3.0"),
      (error: Error) => {
        assert.match(
          error.message,
          /^kafkajs 2\.3\.0 is installed, but sentiment-worker replaces internals of kafkajs 2\.2\.4/,
        );
        for (const { module } of REPLACED_MODULES) assert.ok(error.message.includes(module), module);
        assert.ok(error.message.includes("partitioners/default"));
        assert.ok(error.message.includes("requestQueue/index.js"));
        return true;
      },
    );
    // Loaded with another kafkajs (its package.json put in the module cache first), the module refuses.
    const script = `
      const { createRequire, Module } = require("node:module");
      const require2 = createRequire(${JSON.stringify(join(REPO_ROOT, "dist/src/kafka/kafkajs.js"))});
      const path = require2.resolve("kafkajs/package.json");
      const fake = new Module(path);
      fake.exports = { version: "2.3.0" };
      fake.loaded = true;
      require.cache[path] = fake;
      import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, "dist/src/kafka/kafkajs.js")).href)}).then(
        () => console.log("loaded"),
        (e) => console.log(e.name + ": " + e.message),
      );`;
    const child = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    assert.match(child.stdout, /^SentimentWorkerError: kafkajs 2\.3\.0 is installed/);
  });
});

/** A fetched record of producer `pid` at `offset`, in a transaction; a marker when `key` is one. */
const record = (offset: number, pid: string, key: Buffer | null = null) => ({
  offset: String(offset),
  key,
  value: key ? null : Buffer.from(`${pid}@${offset}`),
  isControlRecord: key !== null,
  batchContext: { producerId: pid, inTransaction: true },
});

describe("the read_committed filter of aborted transactions", () => {
  // Producers A and B each open a transaction (A at 10, B at 11), C commits one in between, and
  // both A and B abort. The fetch starts at 12: both aborted transactions are already open.
  const messages = [
    record(12, "A"),
    record(13, "C"),
    record(14, "B"),
    record(15, "C", COMMIT),
    record(16, "A", ABORT),
    record(17, "B"),
    record(18, "B", ABORT),
    record(19, "A"),
    record(20, "A", COMMIT),
  ];
  // The broker's list, not sorted by first offset.
  const abortedTransactions = [
    { producerId: "B", firstOffset: "11" },
    { producerId: "A", firstOffset: "10" },
  ];
  const values = (kept: { value: Buffer | null }[]) => kept.filter((m) => m.value !== null).map((m) => String(m.value));

  it("hides every aborted transaction a fetch starts inside of, however they interleave", () => {
    // A's record at 19 is a new transaction, committed at 20.
    assert.deepEqual(values(filterAbortedMessages({ messages, abortedTransactions })), ["C@13", "A@19"]);
  });

  it("kafkajs's own lets an aborted record of the interleaved transactions through", () => {
    const own = kafkajsOwn<typeof filterAbortedMessages>("kafkajs/src/consumer/filterAbortedMessages.js");
    assert.deepEqual(values(own({ messages, abortedTransactions })), ["A@12", "C@13", "A@19"]);
  });

  it("is what kafkajs's batch of a fetch filters with once src/kafka/kafkajs.js is loaded", () => {
    assert.equal(require("kafkajs/src/consumer/filterAbortedMessages.js"), filterAbortedMessages);
    const Batch = require("kafkajs/src/consumer/batch.js") as new (
      topic: string,
      fetchedOffset: string,
      partitionData: object,
    ) => { messages: { value: Buffer | null }[] };
    const batch = new Batch("t", "12", { partition: 0, highWatermark: "21", abortedTransactions, messages });
    assert.deepEqual(values(batch.messages), ["C@13", "A@19"]);
  });

  it("passes everything through when nothing was aborted", () => {
    const messages = [record(1, "A"), record(2, "A", COMMIT)];
    assert.equal(filterAbortedMessages({ messages, abortedTransactions: [] }), messages);
  });
});

describe("the partitioner's murmur2", () => {
  it("equals kafkajs's (the Java client's) on keys of every length up to 300 bytes", () => {
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let length = 0; length <= 300; length++) {
      const key = Buffer.from(Array.from({ length }, random));
      assert.equal(murmur2(key), kafkajsMurmur2(key), `key of ${length} bytes`);
    }
    // Known answers of the Java client's Utils.murmur2.
    assert.equal(murmur2(Buffer.from("21")), -973932308);
    assert.equal(murmur2(Buffer.from("foobar")), -790332482);
  });

  it("places keyed records as kafkajs's default partitioner does, and a 1 MB key too", () => {
    const partitioner = createPartitioner();
    const partitionMetadata = Array.from({ length: 12 }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      replicas: [1],
      isr: [1],
      partitionErrorCode: 0,
    }));
    for (const key of ["user-1", "user-2", "ключ", ""]) {
      const expected = (kafkajsMurmur2(Buffer.from(key)) & 0x7fffffff) % 12;
      assert.equal(partitioner({ topic: "t", partitionMetadata, message: { key, value: null } }), expected);
    }
    const huge = Buffer.alloc(1 << 20, 7);
    const partition = partitioner({ topic: "t", partitionMetadata, message: { key: huge, value: null } });
    assert.ok(partition >= 0 && partition < 12);
    assert.equal(partitioner({ topic: "t", partitionMetadata, message: { partition: 5, value: null } }), 5);
  });

  it("kafkajs's own lets its hash grow past 64 bits, so its time grows with the square of the key", () => {
    // Every multiplication's result, in bits: kafkajs never truncates its BigInts to 64 bits.
    const Long = require("kafkajs/src/utils/long.js") as { prototype: { multiply(m: unknown): { value: bigint } } };
    const multiply = Long.prototype.multiply;
    let widest = 0;
    Long.prototype.multiply = function (this: unknown, m: unknown) {
      const product = multiply.call(this, m);
      widest = Math.max(widest, product.value.toString(2).length);
      return product;
    };
    try {
      kafkajsMurmur2(Buffer.alloc(4000, 7));
    } finally {
      Long.prototype.multiply = multiply;
    }
    // About 31 bits more per 4-byte word: 1,000 words make a number of some 31,000 bits.
    assert.ok(widest > 30_000, `widest product ${widest} bits`);
  });

  it("is what the worker's producers partition with", async () => {
    const options: Record<string, unknown>[] = [];
    const producer = (o: Record<string, unknown>) => {
      options.push(o);
      return { connect: async () => {}, disconnect: async () => {}, transaction: async () => ({}) };
    };
    const client = kafkaClient({ producer } as unknown as KafkaJS, {} as Parameters<typeof kafkaClient>[1]);
    await client.producer();
    await client.transactionalProducer({ transactionalId: "t", transactionTimeoutMs: 1000 });
    assert.equal(options.length, 2);
    for (const o of options) assert.equal(o.createPartitioner, createPartitioner);
  });
});

describe("the record decoder", () => {
  /** A record with `n` headers, named `h0`, `h1`, ... or all named `h`, each value empty. */
  const headers = (n: number, names: "distinct" | "repeated") =>
    Array.from({ length: n }, (_, i) => ({ key: names === "distinct" ? `h${i}` : "h", value: Buffer.alloc(0) }));

  /**
   * What kafkajs's own decoder copies to gather `entries` into a headers object: it folds them with
   * `reduce`, which is run here on an accumulator that counts every property read off it (a spread
   * reads them all) and every array it makes anew (a `concat` copies the array).
   */
  function kafkajsCopies(entries: { key: string; value: Buffer }[]): number {
    const own = kafkajsOwn<typeof decodeRecord>("kafkajs/src/protocol/recordBatch/record/v0/decoder.js");
    const Long = require("kafkajs/src/utils/long.js") as { fromValue(v: unknown): unknown };
    let copies = 0;
    const counted = (target: Record<string, unknown>) =>
      new Proxy(target, {
        get(t, name, receiver) {
          copies++;
          return Reflect.get(t, name, receiver);
        },
      });
    const folded = {
      reduce(step: (obj: object, entry: object) => Record<string, unknown>, first: Record<string, unknown>) {
        let obj = first;
        for (const entry of entries) {
          const before = obj[entry.key];
          obj = step(counted(obj), entry);
          const after = obj[entry.key];
          if (Array.isArray(after) && after !== before) copies += after.length;
        }
        return obj;
      },
    };
    const decoder = {
      readInt8: () => 0,
      readVarLong: () => Long.fromValue(0),
      readVarInt: () => 0,
      readVarIntBytes: () => null,
      readVarIntArray: () => folded,
    };
    own(decoder as unknown as Parameters<typeof decodeRecord>[0], { firstOffset: "0", firstTimestamp: "0" });
    return copies;
  }

  it("kafkajs's own copies the headers gathered so far once per header: quadratic", () => {
    const n = 2000;
    // n²/2 copies, where gathering in place reads or makes a handful per header.
    assert.ok(kafkajsCopies(headers(n, "distinct")) >= (n * (n - 1)) / 2);
    assert.ok(kafkajsCopies(headers(n, "repeated")) >= (n * (n - 1)) / 2);
  });

  it("is what kafkajs's record batch decoder reads records with once src/kafka/kafkajs.js is loaded", async () => {
    assert.equal(require("kafkajs/src/protocol/recordBatch/record/v0/decoder.js"), decodeRecord);
    const decodeBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js") as (
      decoder: unknown,
    ) => Promise<{ records: { offset: string; value: Buffer; headers: object; headerCount?: number }[] }>;
    const bomb = Array.from({ length: 30_000 }, (_, i) => [`h${i}`, ""] as [string, string]);
    const batch = await recordBatchBytes(
      [{ value: "before" }, { value: "bomb", headers: bomb }, { value: "after", headers: [["a", "1"]] }],
      500,
    );
    const { records } = await decodeBatch(new KafkaDecoder(batch));
    // Only ours counts the headers.
    assert.deepEqual(
      records.map((r) => [r.offset, String(r.value), r.headerCount]),
      [
        ["500", "before", 0],
        ["501", "bomb", 30_000],
        ["502", "after", 1],
      ],
    );
  });
});

describe("the record encoder", () => {
  type Headers = NonNullable<Parameters<typeof encodeRecord>[0]["headers"]>;
  const kafkajsEncode = () => kafkajsOwn<typeof encodeRecord>("kafkajs/src/protocol/recordBatch/record/v0/index.js");
  const encoded = (headers: Headers, encode = encodeRecord) =>
    (
      encode({ offsetDelta: 3, timestampDelta: 9, key: "k", value: Buffer.from("v"), headers }) as unknown as {
        buffer: Buffer;
      }
    ).buffer;
  const read = (bytes: Buffer) => decodeRecord(recordDecoder(bytes), { firstOffset: "0", firstTimestamp: "0" });

  it("writes what kafkajs's writes, and a header whose value is null as null", () => {
    const headers: Headers = { a: "1", b: Buffer.from([0, 1]), c: ["x", Buffer.from("y")], "": "", ключ: "значение" };
    assert.deepEqual(encoded(headers), encoded(headers, kafkajsEncode()));
    const nulls = read(encoded({ traceparent: null, a: ["1", null], b: "2" }));
    assert.deepEqual(nulls.headers, { traceparent: null, a: [Buffer.from("1"), null], b: Buffer.from("2") });
    assert.equal(nulls.offset, "3");
  });

  it("kafkajs's own throws on a header whose value is null, which its decoder gives", () => {
    assert.throws(() => encoded({ "x-null": null }, kafkajsEncode()), TypeError);
  });

  it("is what kafkajs's produce requests write records with once src/kafka/kafkajs.js is loaded", async () => {
    assert.equal(require("kafkajs/src/protocol/recordBatch/record/v0/index.js"), encodeRecord);
    const produceRequest = require("kafkajs/src/protocol/requests/produce/v3/request.js") as (options: object) => {
      encode(): Promise<{ buffer: Buffer }>;
    };
    const message = { key: null, value: "{}", headers: { traceparent: null } };
    const request = produceRequest({
      acks: -1,
      timeout: 1000,
      topicData: [{ topic: "t", partitions: [{ partition: 0, firstSequence: 0, messages: [message] }] }],
    });
    const decoder = new KafkaDecoder((await request.encode()).buffer) as unknown as Record<string, () => unknown>;
    // transactional id, acks, timeout, one topic, its name, one partition, its number, its size.
    for (const read of [
      "readString",
      "readInt16",
      "readInt32",
      "readInt32",
      "readString",
      "readInt32",
      "readInt32",
      "readInt32",
    ])
      decoder[read]?.();
    const decodeBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js") as (
      decoder: unknown,
    ) => Promise<{ records: { headers: object }[] }>;
    const { records } = await decodeBatch(decoder);
    assert.deepEqual(
      records.map((r) => r.headers),
      [{ traceparent: null }],
    );
  });
});

describe("the record batch encoder and its CRC-32C", () => {
  type RecordInput = Parameters<typeof encodeRecord>[0];
  type BatchOptions = Omit<RecordBatchOptions, "records">;
  type Batch = (options: RecordBatchOptions) => Promise<{ buffer: Buffer }>;
  const RECORD = "kafkajs/src/protocol/recordBatch/record/v0/index.js";
  const BATCH = "kafkajs/src/protocol/recordBatch/v0/index.js";
  const PRODUCE = "kafkajs/src/protocol/requests/produce/v3/request.js";
  const Long = require("kafkajs/src/utils/long.js") as { fromValue(v: unknown): unknown };
  const kafkajsRecord = kafkajsOwn<typeof encodeRecord>(RECORD);
  const kafkajsBatch = kafkajsOwn<{ RecordBatch: Batch }>(BATCH).RecordBatch;
  const kafkajsCrc = require("kafkajs/src/protocol/recordBatch/crc32C/index.js") as (b: Buffer) => number;

  /** Varied records kafkajs's own can write (it throws on a null header value: see above). */
  function variedRecords(): RecordInput[] {
    let seed = 11;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const texts = [
      "",
      "a",
      "hello, world",
      "ключ значение",
      "😀 emoji 🚀",
      "نوال الزغبي",
      "lone \ud800 surrogate",
      "x".repeat(200),
    ];
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => random(256)));
    const records: RecordInput[] = [
      { key: null, value: null },
      { key: undefined, value: undefined, headers: {} },
      { key: "", value: "" },
      { key: Buffer.alloc(0), value: Buffer.alloc(0) },
      { key: "k", value: Buffer.alloc(1 << 20, 7) }, // a 1 MB value: a 3-byte length varint
      { key: bytes(70), value: "v".repeat(70_000) },
      { value: "{}", headers: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`h${i}`, `${i}`])) },
      {
        value: "{}",
        headers: { "": "", a: ["1", Buffer.from("2"), ""], "10": "numeric names come first", ключ: "значение" },
      },
      { value: "{}", headers: { a: Object.assign(new Array<string>(3), { 0: "x", 2: "y" }) } }, // a hole, skipped as kafkajs's flatMap does
    ];
    for (const timestampDelta of [
      0,
      1,
      -1,
      63,
      64,
      -65,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 50,
      -(2 ** 50),
      2 ** 52,
      -(2 ** 52) - 1,
      2 ** 53 - 1,
      Number.NaN,
    ]) {
      records.push({ value: "t", timestampDelta });
    }
    for (const offsetDelta of [0, 63, 64, 8191, 8192, 2 ** 20, 2 ** 30]) records.push({ value: "o", offsetDelta });
    for (let i = 0; i < 200; i++) {
      const pick = <T>(xs: readonly T[]) => xs[random(xs.length)] as T;
      const headers: Record<string, string | Buffer | (string | Buffer)[]> = {};
      for (let h = random(6); h > 0; h--)
        headers[pick(texts)] = random(3) === 0 ? [pick(texts), bytes(random(40))] : pick(texts);
      records.push({
        offsetDelta: i,
        timestampDelta: random(3) === 0 ? -random(100_000) : random(1_000_000_000),
        key: pick([null, pick(texts), bytes(random(20))]),
        value: pick([null, pick(texts), bytes(random(3000)), JSON.stringify({ text: pick(texts), i })]),
        headers,
      });
    }
    return records;
  }

  const batchOptions: BatchOptions[] = [
    {},
    { firstTimestamp: 1_765_000_000_000, maxTimestamp: 1_765_000_000_999, lastOffsetDelta: 9 },
    { firstTimestamp: "1765000000000", maxTimestamp: "1765000009999", firstOffset: "123456789012" },
    // idempotent: a producer id, epoch and sequence
    { producerId: Long.fromValue(4000), producerEpoch: 7, firstSequence: 2 ** 31 - 5, lastOffsetDelta: 3 },
    // transactional
    { transactional: true, producerId: Long.fromValue("9007199254740993"), producerEpoch: 32_000, firstSequence: 17 },
    { transactional: true, producerId: Long.fromValue(1), partitionLeaderEpoch: 5, compression: 1 }, // gzip
    { compression: 1 },
  ];

  it("writes the bytes kafkajs's writes for varied records and every kind of batch header, gzip too", async (t) => {
    const records = variedRecords();
    // A batch's timestamps default to Date.now(): the same for both.
    const now = Date.now;
    Date.now = () => 1_765_000_000_000;
    t.after(() => {
      Date.now = now;
    });
    for (const options of batchOptions) {
      for (const slice of [records, records.slice(0, 1), [], records.slice(20, 60)]) {
        const ours = (await RecordBatch({ ...options, records: slice.map(encodeRecord) })).buffer;
        const theirs = (await kafkajsBatch({ ...options, records: slice.map(kafkajsRecord) as never })).buffer;
        assert.ok(ours.equals(theirs), `${JSON.stringify(options)}, ${slice.length} records: differ`);
      }
    }
  });

  it("writes the produce requests kafkajs's writes, byte for byte", async () => {
    const theirs = kafkajsOwn<typeof ourProduce>(PRODUCE, [RECORD, BATCH]);
    const ourProduce = require(PRODUCE) as (options: object) => { encode(): Promise<{ buffer: Buffer }> };
    assert.notEqual(theirs, ourProduce);
    const records = variedRecords();
    // kafkajs stamps records without a timestamp with Date.now(): the same for both.
    const now = Date.now;
    Date.now = () => 1_765_000_000_000;
    try {
      for (const [compression, transactionalId] of [
        [0, null],
        [0, "tx-1"],
        [1, "tx-1"],
      ] as const) {
        const options = {
          acks: -1,
          timeout: 30_000,
          transactionalId,
          producerId: Long.fromValue(transactionalId ? 42 : -1),
          producerEpoch: transactionalId ? 3 : 0,
          compression,
          topicData: [
            {
              topic: "events",
              partitions: [
                { partition: 0, firstSequence: 5, messages: records.slice(0, 100) },
                {
                  partition: 3,
                  firstSequence: 0,
                  messages: records.slice(100).map((r, i) => ({ ...r, timestamp: `${1_765_000_000_000 - i * 7}` })),
                },
              ],
            },
            {
              topic: "dead-letters",
              partitions: [
                { partition: 1, firstSequence: 0, messages: records.slice(5, 6) },
                // kafkajs orders timestamps as strings: "1000" before "999".
                {
                  partition: 2,
                  messages: [
                    { value: "a", timestamp: "999" },
                    { value: "b", timestamp: "1000" },
                  ],
                },
              ],
            },
          ],
        };
        const ours = (await ourProduce(options).encode()).buffer;
        assert.ok(
          ours.equals((await theirs(options).encode()).buffer),
          `compression ${compression}, ${transactionalId}`,
        );
      }
    } finally {
      Date.now = now;
    }
  });

  it("computes kafkajs's CRC-32C at every length and offset, and the standard check value", () => {
    const bytes = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 131 + 7) & 0xff));
    for (let length = 0; length <= 300; length++) {
      for (const start of [0, 1, 3, 8]) {
        const part = bytes.subarray(start, start + length);
        assert.equal(crc32c(bytes, start, start + length), kafkajsCrc(part), `${length} bytes from ${start}`);
      }
    }
    assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
  });

  it("takes the checksum from @node-rs/crc32's binary (kafkajs's JavaScript only where it has none)", (t) => {
    if (CRC32C_SOURCE !== "@node-rs/crc32" && process.env.CI !== "true") {
      t.skip("@node-rs/crc32 is not installed here (npm ci installs it): kafkajs's CRC-32C is in use");
      return;
    }
    assert.equal(CRC32C_SOURCE, "@node-rs/crc32");
    const native = require("@node-rs/crc32") as { crc32c(input: Uint8Array): number };
    const bytes = Buffer.from("a record batch's bytes");
    assert.equal(crc32c(bytes), native.crc32c(bytes));
  });

  /** How many buffers `run` allocates (Buffer.alloc, allocUnsafe, from), for the allocations per record. */
  async function buffersMade(run: () => Promise<unknown>): Promise<number> {
    const methods = ["alloc", "allocUnsafe", "allocUnsafeSlow", "from"] as const;
    const saved = methods.map((m) => Buffer[m]);
    let made = 0;
    methods.forEach((m, i) => {
      const real = saved[i] as (...args: unknown[]) => Buffer;
      (Buffer as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => {
        made++;
        return real.apply(Buffer, args);
      };
    });
    try {
      await run();
    } finally {
      methods.forEach((m, i) => {
        (Buffer as unknown as Record<string, unknown>)[m] = saved[i];
      });
    }
    return made;
  }

  it("kafkajs's own makes buffers for every record and every header (the main thread's cost)", async () => {
    const records = Array.from({ length: 100 }, (_, i) => ({
      offsetDelta: i,
      value: "{}",
      headers: { a: "1", b: "2" },
    }));
    // At least an Encoder per record and per header, and a buffer per varint.
    assert.ok((await buffersMade(() => kafkajsBatch({ records: records.map(kafkajsRecord) as never }))) >= 100 * 3);
    // Ours: one for the batch.
    assert.equal(await buffersMade(() => RecordBatch({ records: records.map(encodeRecord) })), 1);
  });

  it("says which field of a record has a type Kafka cannot carry", () => {
    assert.throws(
      () => encodeRecord({ value: 5 as unknown as string }),
      /record's value must be a string, a Buffer or null, not number/,
    );
    assert.throws(() => encodeRecord({ key: {} as unknown as string }), /record's key must be/);
    assert.throws(
      () => encodeRecord({ value: "{}", headers: { n: 1 as unknown as string } }),
      /record's header "n" must be/,
    );
  });

  it("kafkajs's own copies a produce request's bytes into buffer after buffer; ours writes one and frames it in one", async () => {
    // Timestamps of their own: else each request stamps its records with Date.now().
    const messages = Array.from({ length: 100 }, (_, i) => ({
      value: `{"i":${i}}`,
      headers: { a: "1" },
      timestamp: `${1_765_000_000_000 + i}`,
    }));
    const options = {
      acks: -1,
      timeout: 1000,
      transactionalId: "tx",
      topicData: [
        { topic: "t", partitions: [0, 1, 2].map((partition) => ({ partition, firstSequence: 0, messages })) },
      ],
    };
    const frame = (create: typeof createRequest, produce: typeof produceRequest) => () =>
      create({ correlationId: 7, clientId: "sw", request: produce(options) });
    const theirs = frame(
      kafkajsOwn<typeof createRequest>("kafkajs/src/protocol/request.js"),
      kafkajsOwn<typeof produceRequest>(PRODUCE, [RECORD, BATCH]),
    );
    // An Encoder per record and header, and per batch, partition, topic, request and frame.
    assert.ok((await buffersMade(theirs)) >= 300 * 2);
    // Ours: the request and its frame.
    assert.equal(await buffersMade(frame(createRequest, produceRequest)), 2);
    assert.ok((await frame(createRequest, produceRequest)()).buffer.equals((await theirs()).buffer));
  });

  it("frames any request as kafkajs's does: size, API key and version, correlation id, client id", async () => {
    const theirs = kafkajsOwn<typeof createRequest>("kafkajs/src/protocol/request.js");
    type Versions = {
      protocol(o: { version: number }): (o: object) => {
        request: { apiKey: number; apiVersion: number; encode(): Promise<unknown> };
      };
    };
    const metadata = (require("kafkajs/src/protocol/requests/metadata/index.js") as Versions).protocol({ version: 6 })({
      topics: ["a", "ключ"],
      allowAutoTopicCreation: false,
    }).request;
    const produce = produceRequest({
      acks: 1,
      timeout: 30_000,
      topicData: [{ topic: "t", partitions: [{ partition: 0, messages: [{ key: "k", value: "v", timestamp: "5" }] }] }],
    });
    for (const request of [metadata, produce]) {
      for (const clientId of ["sentiment-worker", "", "клиент", null]) {
        const options = { correlationId: 2 ** 31 - 1, clientId, request };
        const ours = (await createRequest(options)).buffer;
        assert.ok(ours.equals((await theirs(options)).buffer), `${request.apiKey}, ${clientId}`);
      }
    }
    await assert.rejects(
      createRequest({ correlationId: 1, clientId: "x", request: { apiKey: 0, apiVersion: 0, encode: () => ({}) } }),
      /value should be an instance of Encoder/,
    );
  });

  it("is what kafkajs's produce requests (every version from 3) and connections use once src/kafka/kafkajs.js is loaded", async () => {
    assert.equal(require(PRODUCE), produceRequest);
    assert.equal(require("kafkajs/src/protocol/request.js"), createRequest);
    const produce = require("kafkajs/src/protocol/requests/produce/index.js") as {
      protocol(o: { version: number }): (o: object) => { request: { apiVersion: number; encode(): Promise<unknown> } };
    };
    const messages = Array.from({ length: 100 }, (_, i) => ({ value: `${i}` }));
    for (const version of [3, 4, 5, 6, 7]) {
      const { request } = produce.protocol({ version })({
        acks: -1,
        timeout: 1000,
        topicData: [{ topic: "t", partitions: [{ partition: 0, firstSequence: 0, messages }] }],
      });
      assert.equal(request.apiVersion, version);
      // Ours makes one buffer for the request; kafkajs's, one or more per record.
      assert.equal(await buffersMade(() => request.encode()), 1, `version ${version}`);
    }
  });

  it("is what kafkajs's produce requests write batches with once src/kafka/kafkajs.js is loaded", async () => {
    assert.deepEqual(require(BATCH), { RecordBatch, MAGIC_BYTE: 2 });
    // A request of kafkajs's writes a batch whose CRC the broker's check accepts (here: kafkajs's own CRC).
    const produceRequest = require(PRODUCE) as (options: object) => { encode(): Promise<{ buffer: Buffer }> };
    const encoded = await produceRequest({
      acks: -1,
      timeout: 1000,
      topicData: [{ topic: "t", partitions: [{ partition: 0, firstSequence: 0, messages: [{ value: "{}" }] }] }],
    }).encode();
    // transactional id (null), acks, timeout, one topic, "t", one partition, its number, its size: 27 bytes.
    const batch = encoded.buffer.subarray(27);
    assert.equal(batch.length, encoded.buffer.readInt32BE(23));
    // The CRC (after offset, length, leader epoch, magic) covers the rest: kafkajs's own agrees.
    assert.equal(batch.readUInt32BE(17), kafkajsCrc(batch.subarray(21)));
    const decodeBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js") as (
      decoder: unknown,
    ) => Promise<{ records: { value: Buffer }[] }>;
    const { records } = await decodeBatch(new KafkaDecoder(batch));
    assert.deepEqual(
      records.map((r) => String(r.value)),
      ["{}"],
    );
  });
});

describe("kafkajs errors by type", () => {
  const protocolError = (type: string, message = type) => Object.assign(new Error(message), { type });
  it("knows a fenced producer by type through wrapping causes, also by the code newer brokers send", () => {
    assert.ok(meansFenced(protocolError("INVALID_PRODUCER_EPOCH")));
    const wrapped = Object.assign(new Error("retries exceeded"), {
      cause: protocolError("KAFKAJS_UNKNOWN_ERROR_CODE", "Unknown error code 90"),
    });
    assert.equal(kafkaErrorType(wrapped), "PRODUCER_FENCED");
    assert.ok(meansFenced(wrapped));
    // A leader's epoch is not the producer's: retriable, not fenced.
    assert.ok(!meansFenced(protocolError("FENCED_LEADER_EPOCH", "The leader epoch in the request is older")));
    assert.ok(!meansFenced(new Error("producer epoch is fenced")));
  });

  it("knows the end of a group generation", () => {
    assert.ok(meansRejoin(protocolError("REBALANCE_IN_PROGRESS")));
    assert.ok(meansRejoin(Object.assign(new Error("x"), { cause: protocolError("UNKNOWN_MEMBER_ID") })));
    assert.ok(!meansRejoin(protocolError("NOT_COORDINATOR")));
  });
});

describe("the produce retry", () => {
  const { KafkaJSConnectionError } = require("kafkajs/src/errors") as {
    KafkaJSConnectionError: new (message: string) => Error;
  };
  const createRetry = require("kafkajs/src/retry") as (options: object) => unknown;
  type Factory = (options: object) => (request: object) => Promise<unknown[]>;
  type TopicData = { topic: string; partitions: { partition: number; firstSequence: number }[] }[];

  const kafkajsOwnSend = () => kafkajsOwn<Factory>("kafkajs/src/producer/sendMessages.js");

  /**
   * Sends two topics' records to a two-node cluster and returns what the brokers wrote. The
   * `failLookup`-th broker lookup fails as a restarting broker's refused connection does, after
   * which the node has a new Broker object (kafkajs reconnects with new objects); `failProduce`
   * says which node's produce fails in which attempt; `leaders` places each topic's partition 0.
   */
  async function send(
    factory: Factory,
    options: {
      failLookup?: number;
      failProduce?: (node: number, attempt: number) => boolean;
      leaders: (topic: string, attempt: number) => number;
    },
  ): Promise<string[]> {
    const written: string[] = [];
    let lookups = 0;
    let attempt = 0;
    let objects = 0;
    const broker = (nodeId: number) => {
      const object = ++objects;
      return {
        nodeId,
        produce: async ({ topicData }: { topicData: TopicData }) => {
          if (options.failProduce?.(nodeId, attempt)) throw new KafkaJSConnectionError("read ECONNRESET");
          for (const t of topicData) {
            for (const p of t.partitions)
              written.push(`${t.topic}[${p.partition}] seq ${p.firstSequence} node ${nodeId}#${object}`);
          }
          return {
            topics: topicData.map((t) => ({
              topicName: t.topic,
              partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: "0" })),
            })),
          };
        },
      };
    };
    const brokers = new Map([1, 2].map((node) => [node, broker(node)]));
    const sequences = new Map<string, number>();
    const sendMessages = factory({
      logger: { debug() {}, error() {}, info() {}, warn() {} },
      partitioner: () => 0,
      retrier: createRetry({ retries: 3, initialRetryTime: 1 }),
      eosManager: {
        isTransactional: () => false,
        acquireBrokerLock: async () => {},
        releaseBrokerLock: async () => {},
        getSequence: (topic: string, partition: number) => sequences.get(`${topic}${partition}`) ?? 0,
        updateSequence: (topic: string, partition: number, n: number) =>
          sequences.set(`${topic}${partition}`, (sequences.get(`${topic}${partition}`) ?? 0) + n),
        getProducerId: () => 1,
        getProducerEpoch: () => 0,
        getTransactionalId: () => undefined,
      },
      cluster: {
        refreshMetadataIfNecessary: async () => {
          attempt++;
        },
        refreshMetadata: async () => {},
        findTopicPartitionMetadata: (topic: string) => [{ partitionId: 0, leader: options.leaders(topic, attempt) }],
        findLeaderForPartitions: (topic: string, partitions: string[]) =>
          partitions.length > 0 ? { [options.leaders(topic, attempt)]: partitions.map(Number) } : {},
        findBroker: async ({ nodeId }: { nodeId: string | number }) => {
          if (++lookups === options.failLookup) {
            brokers.set(Number(nodeId), broker(Number(nodeId)));
            throw new KafkaJSConnectionError("connect ECONNREFUSED 127.0.0.1:9092");
          }
          return brokers.get(Number(nodeId));
        },
        addMultipleTargetTopics: async () => {},
        isConnected: () => true,
        connect: async () => {},
        removeBroker: () => {},
      },
    });
    await sendMessages({
      acks: -1,
      topicMessages: [
        { topic: "events", messages: [{ value: "a" }, { value: "b" }] },
        { topic: "letters", messages: [{ value: "x" }] },
      ],
    });
    return written.sort();
  }

  // Both topics on node 1; its second lookup (the second topic's, in kafkajs) is refused.
  const restart = { failLookup: 2, leaders: () => 1 };

  it("kafkajs's own sends a node's records twice when a lookup failed half-way through an attempt", async () => {
    // Why it is replaced: each copy has its own sequence numbers, so the broker keeps both.
    assert.deepEqual(await send(kafkajsOwnSend(), restart), [
      "events[0] seq 0 node 1#1",
      "events[0] seq 2 node 1#3",
      "letters[0] seq 0 node 1#1",
      "letters[0] seq 1 node 1#3",
    ]);
  });

  it("sends each partition's records once when a lookup failed", async () => {
    // Ours looks each node up once per attempt, before sending anything.
    assert.deepEqual(await send(createSendMessages as Factory, { ...restart, failLookup: 1 }), [
      "events[0] seq 0 node 1#3",
      "letters[0] seq 0 node 1#3",
    ]);
    assert.deepEqual(await send(createSendMessages as Factory, restart), [
      "events[0] seq 0 node 1#1",
      "letters[0] seq 0 node 1#1",
    ]);
  });

  it("sends a partition whose leader moved to a node that had already answered", async () => {
    // Attempt 1: node 1 writes events, node 2 fails; attempt 2: letters' leader is node 1.
    const moved = {
      failProduce: (node: number, attempt: number) => node === 2 && attempt === 1,
      leaders: (topic: string, attempt: number) => (topic === "letters" && attempt === 1 ? 2 : 1),
    };
    assert.deepEqual(await send(createSendMessages as Factory, moved), [
      "events[0] seq 0 node 1#1",
      "letters[0] seq 0 node 1#1",
    ]);
    // kafkajs's own wrote letters nowhere and answered success: a loss.
    assert.deepEqual(await send(kafkajsOwnSend(), moved), ["events[0] seq 0 node 1#1"]);
  });

  it("is what kafkajs's producer sends with once src/kafka/kafkajs.js is loaded", async () => {
    assert.equal(require("kafkajs/src/producer/sendMessages.js"), createSendMessages);
    // kafkajs's message producer, as its producer makes it, sends each partition's records once.
    const createMessageProducer = require("kafkajs/src/producer/messageProducer.js") as (options: object) => {
      sendBatch(request: object): Promise<unknown[]>;
    };
    const throughProducer: Factory = (options) => (request) =>
      createMessageProducer({ ...options, idempotent: true, getConnectionStatus: () => "connected" }).sendBatch(
        request,
      );
    assert.deepEqual(await send(throughProducer, restart), ["events[0] seq 0 node 1#1", "letters[0] seq 0 node 1#1"]);
  });
});

describe("grouping a send's records by partition", () => {
  type Group = typeof groupMessagesPerPartition;
  const kafkajsGroup = require("kafkajs/src/producer/groupMessagesPerPartition.js") as Group;
  const partitionMetadata = Array.from({ length: 7 }, (_, partitionId) => ({ partitionId }));
  const messages = Array.from({ length: 500 }, (_, i) => ({ value: `${i}`, partition: (i * 7919) % 7 }));
  const partitioner = ({ message }: { message: { partition: number } }) => message.partition;

  it("gives what kafkajs's gives: each partition's records in order, nothing without metadata", () => {
    const options = { topic: "t", partitionMetadata, messages, partitioner };
    assert.deepEqual(groupMessagesPerPartition(options), kafkajsGroup(options));
    assert.deepEqual(Object.keys(groupMessagesPerPartition(options)), ["0", "1", "2", "3", "4", "5", "6"]);
    assert.deepEqual(groupMessagesPerPartition({ ...options, partitionMetadata: [] }), {});
  });

  /** How many array elements `run` reads through the array iterator (a spread reads them all). */
  function elementsIterated(run: () => void): number {
    const proto = Array.prototype as unknown as { [Symbol.iterator]: () => Iterator<unknown> };
    const iterate = proto[Symbol.iterator];
    let read = 0;
    proto[Symbol.iterator] = function (this: unknown[]) {
      const inner = iterate.call(this);
      return {
        next: () => {
          read++;
          return inner.next();
        },
      } as Iterator<unknown>;
    };
    try {
      run();
    } finally {
      proto[Symbol.iterator] = iterate;
    }
    return read;
  }

  it("kafkajs's own copies a partition's records for each record it adds: quadratic", () => {
    const one = Array.from({ length: 1000 }, (_, i) => ({ value: `${i}`, partition: 0 }));
    const options = { topic: "t", partitionMetadata, messages: one, partitioner };
    assert.ok(elementsIterated(() => kafkajsGroup(options)) >= (1000 * 999) / 2);
    assert.ok(elementsIterated(() => groupMessagesPerPartition(options)) <= 1001);
  });
});

describe("the request queue's throttle check", () => {
  const REQUEST_QUEUE = "kafkajs/src/network/requestQueue/index.js";
  type RequestQueueClass = new (
    options: object,
  ) => ThrottledRequestQueue & {
    scheduleCheckPendingRequests(): void;
  };

  /** The delay `schedule` hands setTimeout for a queue in the given state (the timer never runs). */
  function delayOf(schedule: (this: ThrottledRequestQueue) => void, state: Partial<ThrottledRequestQueue>): number {
    const queue: ThrottledRequestQueue = {
      throttledUntil: -1,
      throttleCheckTimeoutId: null,
      pending: [],
      checkPendingRequests: () => {},
      ...state,
    };
    const real = globalThis.setTimeout;
    let delay = Number.NaN;
    globalThis.setTimeout = ((_fn: () => void, ms: number) => {
      delay = ms;
      return real(() => {}, 0);
    }) as typeof setTimeout;
    try {
      schedule.call(queue);
    } finally {
      globalThis.setTimeout = real;
    }
    return delay;
  }

  const kafkajsOwnSchedule = () => kafkajsOwn<RequestQueueClass>(REQUEST_QUEUE).prototype.scheduleCheckPendingRequests;

  it("kafkajs's own hands setTimeout a negative delay before any throttling, with nothing pending", () => {
    assert.ok(delayOf(kafkajsOwnSchedule(), {}) < -1e12);
  });

  it("schedules what Node runs kafkajs's at: 1 ms for a negative delay, the same otherwise", () => {
    const own = kafkajsOwnSchedule();
    const inAWhile = Date.now() + 60_000;
    for (const state of [
      {},
      { pending: [{}] },
      { throttledUntil: inAWhile },
      { throttledUntil: inAWhile, pending: [{}] },
    ]) {
      const theirs = delayOf(own, state);
      const ours = delayOf(scheduleCheckPendingRequests, state);
      assert.ok(ours >= 1, JSON.stringify(state));
      assert.ok(Math.abs(ours - Math.max(theirs, 1)) <= 5, `${JSON.stringify(state)}: ${ours} against ${theirs}`);
    }
    assert.equal(delayOf(scheduleCheckPendingRequests, { pending: [{}] }), 10);
    assert.ok(Number.isNaN(delayOf(scheduleCheckPendingRequests, { throttleCheckTimeoutId: setTimeout(() => {}, 0) })));
  });

  it("is what kafkajs's request queues schedule with once src/kafka/kafkajs.js is loaded", () => {
    const RequestQueue = require(REQUEST_QUEUE) as RequestQueueClass;
    assert.equal(RequestQueue.prototype.scheduleCheckPendingRequests, scheduleCheckPendingRequests);
  });

  it("leaves stderr free of Node's TimeoutNegativeWarning, which kafkajs's own prints (Node 23 and later)", () => {
    const script = (withOurs: boolean) => `
      const { createRequire } = await import("node:module");
      ${withOurs ? `await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, "dist/src/kafka/kafkajs.js")).href)});` : ""}
      const RequestQueue = createRequire(${JSON.stringify(join(REPO_ROOT, "package.json"))})(${JSON.stringify(REQUEST_QUEUE)});
      const queue = new RequestQueue({});
      queue.scheduleCheckPendingRequests();
      clearTimeout(queue.throttleCheckTimeoutId);`;
    const run = (withOurs: boolean) =>
      spawnSync(process.execPath, ["--input-type=module", "-e", script(withOurs)], { encoding: "utf8" });
    const theirs = run(false);
    assert.equal(theirs.status, 0, theirs.stderr);
    if (Number(process.versions.node.split(".")[0]) >= 23) assert.match(theirs.stderr, /TimeoutNegativeWarning/);
    const ours = run(true);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stderr, "");
  });
});
