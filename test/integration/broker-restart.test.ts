/**
 * The worker when its only Kafka broker is SIGKILLed with a backlog and comes back on the same port
 * and data (test/helpers/chaos-services.ts: a broker of this file's own, never the shared one).
 * Without a restart of its own, the worker must go on: a read_committed reader then sees every
 * valid id exactly once (exactly-once) or at least once (at-least-once), and the dead letters too.
 * Redis: the shared one (REDIS_URL) when set, else an isolated one. Bounded: each wait has its
 * deadline, each test's timeout is above the sum of its deadlines (a broker restart takes 13 s
 * here, more on a busy machine), and a last-resort timer ends the file within 5 minutes.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/config/index.js";
import { startWorker, type Worker } from "../../src/pipeline/live-worker.js";
import { type IsolatedServices, startIsolatedServices } from "../helpers/chaos-services.js";
import { TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { KafkaTestClient } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { countOf, idCounts } from "../helpers/worker-setup.js";

const texts = tinyTexts();
const TOTAL = 4000;
/** Records that are not JSON, so the dead-letter path goes through the outage too. */
const BAD = new Set(Array.from({ length: 12 }, (_, k) => 100 + k * 241));
const VALID = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => !BAD.has(i));
/** Kill the broker once this many events are out: well into the backlog, far from its end. */
const KILL_AFTER = 200;

// Last resort: a hung broker or worker must not hang the run (the helper kills the broker on exit).
const lastResort = setTimeout(() => {
  process.stderr.write("broker-restart.test: still running after 290 s, exiting\n");
  process.exit(1);
}, 290_000);
lastResort.unref();

let own: IsolatedServices;
let client: KafkaTestClient;
const workers = new Set<Worker>();

before(
  async () => {
    own = await startIsolatedServices({ kafka: true, redis: !process.env.REDIS_URL });
    client = new KafkaTestClient([own.brokers]);
    await client.connect();
  },
  { timeout: 100_000 },
);

after(async () => {
  await Promise.all([...workers].map((w) => w.stop()));
  await client?.close();
  await own?.stop();
});

async function produceBacklog(topic: string): Promise<void> {
  await client.produce(
    topic,
    Array.from({ length: TOTAL }, (_, i) => ({
      key: `user-${i % 13}`,
      value: BAD.has(i) ? `not json b-${i}` : JSON.stringify({ id: `s-${i}`, text: texts[i % texts.length] }),
    })),
  );
}

describe("the worker when its broker is SIGKILLed and restarted with a backlog", { timeout: 270_000 }, () => {
  for (const delivery of ["exactly-once", "at-least-once"] as const) {
    // 30 s to the kill, 2 s down, up to 40 s for the restart, 45 s to catch up, 30 s to read back.
    it(`recovers by itself and loses nothing (${delivery})`, { timeout: 130_000 }, async () => {
      const input = await client.createTopic("posts", 4);
      const output = await client.createTopic("sentiment", 3);
      const dlq = await client.createTopic("dead-letters", 1);
      const groupId = uniqueName("worker");
      await produceBacklog(input);
      const config = loadConfig({
        env: {},
        flags: {
          "input.source": "kafka",
          "kafka.brokers": own.brokers,
          "kafka.inputTopics": input,
          "kafka.outputTopic": output,
          "kafka.deadLetterTopic": dlq,
          "kafka.groupId": groupId,
          "kafka.delivery": delivery,
          "kafka.sessionTimeoutMs": "6000",
          "kafka.heartbeatIntervalMs": "1000",
          // Exactly-once without de-duplication: the transactions alone must keep each id once.
          // At-least-once with it: a key marked seen for an output the outage lost would lose a record.
          "dedup.enabled": delivery === "exactly-once" ? "false" : "true",
          "dedup.redisUrl": own.redisUrl ?? process.env.REDIS_URL ?? "",
          "dedup.keyPrefix": `${uniqueName("seen")}:`,
          "model.dir": TINY_MODEL_DIR,
          "runtime.intraOpThreads": "1",
          "batching.maxBatchSize": "8",
          "telemetry.httpPort": "0",
          "telemetry.logLevel": "error",
        },
      });
      const worker = await startWorker(config);
      workers.add(worker);
      let gaveUp: unknown;
      worker.failed.catch((e: unknown) => {
        gaveUp = e;
      });
      try {
        const deadline = Date.now() + 30_000;
        while (worker.counters.events < KILL_AFTER && Date.now() < deadline) await sleep(5);
        await own.killKafka();
        const outAtKill = worker.counters.events;
        assert.ok(outAtKill <= TOTAL - 1000, `a backlog remained at the kill (${outAtKill} of ${TOTAL} tagged)`);
        // Down for a moment more than a request's timeout, then back on the same port and data.
        await sleep(2_000);
        const restartedAt = Date.now();
        await own.startKafka();
        const restartMs = Date.now() - restartedAt;
        await client.waitForGroupAtEnd(groupId, input, 45_000).catch((error: unknown) => {
          throw gaveUp === undefined ? error : new Error(`the worker's consumer gave up: ${String(gaveUp)}`);
        });
        assert.equal(gaveUp, undefined, "the worker's consumer did not give up");
        process.stderr.write(
          `broker-restart (${delivery}): killed at ${outAtKill} events, broker back in ${restartMs} ms\n`,
        );
      } finally {
        await worker.stop();
        workers.delete(worker);
      }

      const found = idCounts(await client.readAll(output, { count: VALID.length, timeoutMs: 20_000 }));
      const missing = VALID.map((i) => `s-${i}`).filter((id) => !found.has(id));
      const unexpected = [...found.keys()].filter((id) => !/^s-\d+$/.test(id) || BAD.has(Number(id.slice(2))));
      const letters = countOf(
        (await client.readAll(dlq, { count: BAD.size, timeoutMs: 10_000 })).map((r) => String(r.value)),
      );
      const missingLetters = [...BAD].map((i) => `not json b-${i}`).filter((v) => !letters.has(v));
      if (delivery === "exactly-once") {
        const doubled = [...found].filter(([, n]) => n > 1).map(([id]) => id);
        const doubledLetters = [...letters].filter(([, n]) => n > 1).map(([v]) => v);
        assert.deepEqual(
          { missing, doubled, unexpected, missingLetters, doubledLetters },
          { missing: [], doubled: [], unexpected: [], missingLetters: [], doubledLetters: [] },
        );
      } else {
        assert.deepEqual({ missing, unexpected, missingLetters }, { missing: [], unexpected: [], missingLetters: [] });
      }
    });
  }
});
