/**
 * The rolling fetch (src/kafka/rolling-fetch.ts): kafkajs's own fetch manager fetches a partition
 * again only once every batch of the last fetch is done (the tripwire); ours fetches it as soon as
 * its own batch is done, runs the batches of one fetch at once up to the concurrency, ends only
 * after every batch in flight, and its fetch leaves the partitions in flight (and their seeks) out.
 * The real broker: test/integration/rolling-fetch.test.ts.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import "../../src/kafka/kafkajs.js";
import {
  consumerGroupFetch,
  createFetchManager,
  type FetchingConsumerGroup,
  type FetchingRunner,
  runnerFetch,
} from "../../src/kafka/rolling-fetch.js";
import { kafkajsOwn } from "../helpers/kafkajs-own.js";

const require = createRequire(import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface FakeBatch {
  topic: string;
  partition: number;
  n: number;
}
type Manager = {
  start(): Promise<void>;
  stop(): Promise<void>;
  inFlight?: (topic: string, partition: number) => boolean;
};
type Factory = (options: {
  logger: object;
  getNodeIds(): number[];
  fetch(nodeId: number): Promise<FakeBatch[]>;
  handler(batch: FakeBatch): Promise<void>;
  concurrency?: number;
}) => Manager;

const logger = {
  namespace() {
    return logger;
  },
  debug() {},
  info() {},
};

/**
 * A fetch manager over `partitions` partitions of one broker, each batch taking `ms(partition)`;
 * the fetch returns a batch for every partition not in flight (kafkajs's own knows of none).
 * Returns what was handled, in order, with how many were in flight at each start.
 */
function harness(
  factory: Factory,
  options: { partitions: number; ms: (partition: number) => number; concurrency?: number; fail?: FakeBatch["n"] },
) {
  const handled: { partition: number; n: number; at: number; concurrent: number }[] = [];
  let running = 0;
  let maxRunning = 0;
  let fetches = 0;
  let manager: Manager | undefined;
  const started = performance.now();
  manager = factory({
    logger,
    getNodeIds: () => [1],
    fetch: async () => {
      await sleep(1);
      fetches++;
      return Array.from({ length: options.partitions }, (_, partition) => ({
        topic: "t",
        partition,
        n: fetches,
      })).filter((b) => !(manager?.inFlight?.(b.topic, b.partition) ?? false));
    },
    handler: async (batch) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      handled.push({ partition: batch.partition, n: batch.n, at: performance.now() - started, concurrent: running });
      try {
        await sleep(options.ms(batch.partition));
        if (options.fail === batch.n && batch.partition === 0) throw new Error(`batch ${batch.n} failed`);
      } finally {
        running--;
      }
    },
    concurrency: options.concurrency ?? 8,
  });
  return {
    manager,
    handled,
    running: () => running,
    maxRunning: () => maxRunning,
  };
}

const kafkajsOwnFactory = () => kafkajsOwn<Factory>("kafkajs/src/consumer/fetchManager.js");

describe("the rolling fetch manager", () => {
  // Partition 0's batches take 5 ms, partition 1's 200 ms.
  const uneven = { partitions: 2, ms: (p: number) => (p === 0 ? 5 : 200) };

  it("kafkajs's own fetches a partition again only once every batch of the fetch is done", async () => {
    // Why it is replaced: partition 0 waits for partition 1's batch, round after round.
    const { manager, handled } = harness(kafkajsOwnFactory(), uneven);
    const run = manager.start();
    await sleep(300);
    await manager.stop();
    await run;
    const zeroWhileFirstOfOne = handled.filter((h) => h.partition === 0 && h.at < 195).length;
    assert.equal(zeroWhileFirstOfOne, 1);
  });

  it("fetches a partition again as soon as its own batch is done", async () => {
    const { manager, handled } = harness(createFetchManager as unknown as Factory, uneven);
    const run = manager.start();
    await sleep(300);
    await manager.stop();
    await run;
    const zeroWhileFirstOfOne = handled.filter((h) => h.partition === 0 && h.at < 195).length;
    assert.ok(zeroWhileFirstOfOne >= 10, `partition 0 handled ${zeroWhileFirstOfOne} times during partition 1's batch`);
    // Partition 1 never had two batches at once: each was fetched after the one before was done.
    const ones = handled.filter((h) => h.partition === 1);
    for (let i = 1; i < ones.length; i++)
      assert.ok((ones[i] as { at: number }).at - (ones[i - 1] as { at: number }).at >= 195);
  });

  it("runs the batches of one fetch at once, up to its concurrency", async () => {
    const all = harness(createFetchManager as unknown as Factory, { partitions: 3, ms: () => 50 });
    let run = all.manager.start();
    await sleep(120);
    await all.manager.stop();
    await run;
    assert.equal(all.maxRunning(), 3);
    const two = harness(createFetchManager as unknown as Factory, { partitions: 3, ms: () => 50, concurrency: 2 });
    run = two.manager.start();
    await sleep(120);
    await two.manager.stop();
    await run;
    assert.equal(two.maxRunning(), 2);
    assert.ok(
      two.handled.some((h) => h.partition === 2),
      "the third partition's batch ran once a worker was free",
    );
  });

  it("ends a stop only once every batch in flight has", async () => {
    const { manager, running } = harness(createFetchManager as unknown as Factory, uneven);
    const run = manager.start();
    await sleep(20);
    assert.equal(running() > 0, true);
    await manager.stop();
    assert.equal(running(), 0);
    await run;
  });

  it("fails with a batch's error once the other batches in flight are done", async () => {
    // Partition 0's first batch fails at 5 ms; partition 1's runs 200 ms.
    const { manager, running } = harness(createFetchManager as unknown as Factory, { ...uneven, fail: 1 });
    let failedWhileRunning: number | undefined;
    await assert.rejects(
      manager.start().catch((error: unknown) => {
        failedWhileRunning = running();
        throw error;
      }),
      /batch 1 failed/,
    );
    assert.equal(failedWhileRunning, 0);
  });

  it("is what kafkajs's runner fetches with once src/kafka/kafkajs.js is loaded", () => {
    assert.equal(require("kafkajs/src/consumer/fetchManager.js"), createFetchManager);
    const Runner = require("kafkajs/src/consumer/runner.js") as { prototype: { fetch: unknown } };
    const ConsumerGroup = require("kafkajs/src/consumer/consumerGroup.js") as { prototype: { fetch: unknown } };
    assert.equal(Runner.prototype.fetch, runnerFetch);
    assert.equal(ConsumerGroup.prototype.fetch, consumerGroupFetch);
  });
});

describe("the consumer group's fetch", () => {
  /** A consumer group of topic t's partitions 0–2 on node 1, partition 1 with a pending seek. */
  function group() {
    const requests: { maxWaitTime: number; topics: { topic: string; partitions: { partition: number }[] }[] }[] = [];
    const seeksApplied: number[][] = [];
    const pendingSeeks = new Set([1]);
    const fake = {
      groupId: "g",
      memberId: "m",
      logger,
      maxWaitTime: 5000,
      minBytes: 1,
      maxBytes: 10_485_760,
      maxBytesPerPartition: 1_048_576,
      isolationLevel: 1,
      rackId: "",
      metadataMaxAge: 300_000,
      preferredReadReplicasPerTopicPartition: {},
      cluster: {
        refreshMetadataIfNecessary: async () => {},
        findBroker: async () => ({
          fetch: async (request: (typeof requests)[number]) => {
            requests.push(request);
            return {
              responses: request.topics.map(({ topic, partitions }) => ({
                topicName: topic,
                partitions: partitions.map(({ partition }) => ({
                  partition,
                  messages: [],
                  abortedTransactions: [],
                  highWatermark: "10",
                  lastStableOffset: "10",
                })),
              })),
            };
          },
        }),
      },
      subscriptionState: { assigned: () => [{ topic: "t", partitions: [0, 1, 2] }], isPaused: () => false },
      offsetManager: { committedOffsets: () => ({ t: { 0: "0", 1: "0", 2: "0" } }), nextOffset: () => "0" },
      seekOffset: { has: (_topic: string, partition: number) => pendingSeeks.has(partition) },
      checkForStaleAssignment() {},
      filterPartitionsByNode: (_nodeId: number, topicPartitions: { topic: string; partitions: number[] }[]) =>
        topicPartitions,
      seekOffsets: async (topicPartitions: { topic: string; partitions: number[] }[]) => {
        const applied = topicPartitions.flatMap(({ partitions }) => partitions.filter((p) => pendingSeeks.has(p)));
        for (const p of applied) pendingSeeks.delete(p);
        seeksApplied.push(applied);
      },
      getActiveTopicPartitions: () => ({ t: new Set([0, 1, 2]) }),
      recoverFromFetch: async (error: unknown) => {
        throw error;
      },
    } satisfies FetchingConsumerGroup;
    return { fake, requests, seeksApplied };
  }
  const partitionsOf = (request: { topics: { partitions: { partition: number }[] }[] }) =>
    request.topics.flatMap((t) => t.partitions.map((p) => p.partition));

  it("with nothing in flight, asks for every partition and waits on the broker as kafkajs's does", async () => {
    const { fake, requests, seeksApplied } = group();
    await consumerGroupFetch.call(fake, 1);
    assert.deepEqual(partitionsOf(requests[0] as (typeof requests)[number]), [0, 1, 2]);
    assert.equal(requests[0]?.maxWaitTime, 5000);
    assert.deepEqual(seeksApplied, [[1]]);
  });

  it("leaves the partitions in flight out, and their seeks; does not wait on the broker", async () => {
    const { fake, requests, seeksApplied } = group();
    const batches = await consumerGroupFetch.call(fake, 1, (_topic, partition) => partition === 1);
    assert.deepEqual(partitionsOf(requests[0] as (typeof requests)[number]), [0, 2]);
    assert.equal(requests[0]?.maxWaitTime, 0);
    // Partition 1's seek waits for its batch to end: that batch stays stale until then.
    assert.deepEqual(seeksApplied, [[]]);
    assert.equal(batches.length, 2);
  });

  it("returns at once when every partition is in flight (kafkajs's would sleep its max wait)", async () => {
    const { fake, requests } = group();
    const started = performance.now();
    assert.deepEqual(await consumerGroupFetch.call(fake, 1, () => true), []);
    assert.ok(performance.now() - started < 1000);
    assert.equal(requests.length, 0);
  });
});

describe("the runner's fetch", () => {
  it("hands on no batch of a partition with nothing new, and heartbeats when nothing is left", async () => {
    let heartbeats = 0;
    const batch = (empty: boolean, filtered: boolean) => ({
      isEmpty: () => empty,
      isEmptyDueToFiltering: () => filtered,
    });
    const fetched = [batch(false, false), batch(true, false), batch(true, true)];
    const runner: FetchingRunner = {
      running: true,
      logger,
      consumerGroup: { groupId: "g", memberId: "m", fetch: async () => fetched },
      instrumentationEmitter: { emit() {} },
      fetchManager: {},
      heartbeat: async () => {
        heartbeats++;
      },
    };
    // The empty one is left out; control records only still go (their offsets are resolved there).
    assert.deepEqual(await runnerFetch.call(runner, 1), [fetched[0], fetched[2]]);
    assert.equal(heartbeats, 0);
    runner.consumerGroup.fetch = async () => [batch(true, false)];
    assert.deepEqual(await runnerFetch.call(runner, 1), []);
    assert.equal(heartbeats, 1);
  });
});
