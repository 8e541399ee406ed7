/**
 * A rebalance and a SIGTERM in the middle of a large backlog on a CPU-heavy model: kafkajs hands
 * each partition's whole fetch (up to 1 MB, thousands of posts) to one `eachBatch`, and rejoins or
 * leaves only once every `eachBatch` returned. The worker must hand back within one chunk (or the
 * drain timeout), not after the fetch: a joining member gets its partitions in seconds, the old
 * member is not evicted, a stop is quick, and nothing committed is doubled.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startWorker, type Worker } from "../../src/pipeline/live-worker.js";
import { TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import { slowModelDir } from "../helpers/model-graphs.js";
import type { TestServices } from "../helpers/services.js";
import { configOf, idCounts, tally, workerSetup } from "../helpers/worker-setup.js";

const texts = tinyTexts();
const DRAIN_MS = 3000;
const REBALANCE_MS = 20_000;

let services: TestServices;
let client: KafkaTestClient;

openForFile((opened) => {
  ({ services, client } = opened);
});

async function events(topic: string): Promise<number> {
  const ends = await client.admin.fetchTopicOffsets(topic);
  return ends.reduce((sum, e) => sum + Number(e.high), 0);
}

describe("a rebalance and a stop during a large backlog", () => {
  it("hands partitions over within the drain bound, stops within it, and doubles nothing", async (t) => {
    // About 4 ms a post on this machine's cores: the backlog is minutes of work, a fetch too.
    const s = await workerSetup(client, services, {
      partitions: 6,
      outputPartitions: 2,
      flags: {
        "kafka.rebalanceTimeoutMs": String(REBALANCE_MS),
        "kafka.drainTimeoutMs": String(DRAIN_MS),
        "model.dir": slowModelDir(TINY_MODEL_DIR, 96),
        "batching.maxBatchSize": "16",
      },
    });
    const { input, output } = s;
    const groupId = s.flags["kafka.groupId"] as string;
    const total = 20_000;
    await client.produce(
      input,
      Array.from({ length: total }, (_, i) => ({
        key: `user-${i % 97}`,
        value: JSON.stringify({ id: `s-${i}`, text: texts[i % texts.length] }),
      })),
    );
    const config = configOf(s);
    const workers: Worker[] = [];
    try {
      const first = await startWorker(config);
      workers.push(first);
      const deadline = Date.now() + 60_000;
      while ((await events(output)) < 100 && Date.now() < deadline) await sleep(100);

      const joining = Date.now();
      const second = await startWorker(config);
      workers.push(second);
      const joinMs = Date.now() - joining;
      t.diagnostic(`second member joined after ${joinMs} ms`);
      // Well inside the rebalance timeout: the old member was not evicted after it ran out.
      assert.ok(joinMs < REBALANCE_MS - 5000, `the second member waited ${joinMs} ms for its partitions`);
      const [group] = (await client.admin.describeGroups([groupId])).groups;
      assert.equal(group?.members.length, 2, "both members are in the group");
      assert.ok(first.isReady() && second.isReady());

      await sleep(2000);
      const stopping = Date.now();
      await first.stop();
      const stopMs = Date.now() - stopping;
      t.diagnostic(`first member stopped after ${stopMs} ms`);
      assert.ok(stopMs < DRAIN_MS + 7000, `stop took ${stopMs} ms`);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    // Whatever was committed so far, each id at most once (exactly-once through both handovers).
    const records = await client.readAll(output, { count: 1, quietMs: 1000 });
    const counts = idCounts(records);
    assert.ok(counts.size > 100);
    assert.deepEqual(tally(counts, []).doubled, []);
  });
});
