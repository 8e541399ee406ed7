/**
 * Our replacements for two kafkajs internals: the read_committed filter of aborted transactions
 * and the default partitioner's murmur2. Each must give what Kafka's Java client gives.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { filterAbortedMessages } from "../../src/kafka/aborted-filter.js";
import { kafkaErrorType, meansFenced, meansRejoin } from "../../src/kafka/errors.js";
import { createPartitioner, murmur2 } from "../../src/kafka/partitioner.js";

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2.js") as (key: Buffer) => number;
const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

/** A fetched record of producer `pid` at `offset`, in a transaction; a marker when `key` is one. */
const record = (offset: number, pid: string, key: Buffer | null = null) => ({
  offset: String(offset),
  key,
  value: key ? null : Buffer.from(`${pid}@${offset}`),
  batchContext: { producerId: pid, inTransaction: true },
});

describe("the read_committed filter of aborted transactions", () => {
  it("hides every aborted transaction a fetch starts inside of, however they interleave", () => {
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
    const kept = filterAbortedMessages({ messages, abortedTransactions })
      .filter((m) => m.value !== null)
      .map((m) => String(m.value));
    // A's record at 19 is a new transaction, committed at 20.
    assert.deepEqual(kept, ["C@13", "A@19"]);
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
