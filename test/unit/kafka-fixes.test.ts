/**
 * Our replacements for kafkajs internals: the read_committed filter of aborted transactions, the
 * produce retry, and the default partitioner's murmur2. Each must give what Kafka's Java client gives.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { filterAbortedMessages } from "../../src/kafka/aborted-filter.js";
import { kafkaErrorType, meansFenced, meansRejoin } from "../../src/kafka/errors.js";
import "../../src/kafka/kafkajs.js";
import { createPartitioner, murmur2 } from "../../src/kafka/partitioner.js";
import { createSendMessages } from "../../src/kafka/send-messages.js";

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

describe("the produce retry", () => {
  const { KafkaJSConnectionError } = require("kafkajs/src/errors") as {
    KafkaJSConnectionError: new (message: string) => Error;
  };
  const createRetry = require("kafkajs/src/retry") as (options: object) => unknown;
  type Factory = (options: object) => (request: object) => Promise<unknown[]>;
  type TopicData = { topic: string; partitions: { partition: number; firstSequence: number }[] }[];

  /** kafkajs's own module, loaded afresh past the replacement in the module cache. */
  function kafkajsOwn(): Factory {
    const path = require.resolve("kafkajs/src/producer/sendMessages.js");
    const ours = require.cache[path];
    delete require.cache[path];
    try {
      return require(path) as Factory;
    } finally {
      require.cache[path] = ours;
    }
  }

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
    assert.deepEqual(await send(kafkajsOwn(), restart), [
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
    assert.deepEqual(await send(kafkajsOwn(), moved), ["events[0] seq 0 node 1#1"]);
  });

  it("is what kafkajs's producer sends with once src/kafka/kafkajs.js is loaded", () => {
    assert.equal(require("kafkajs/src/producer/sendMessages.js"), createSendMessages);
  });
});
