/**
 * The worker when things go wrong, against the real broker and Redis: a SIGKILL mid-stream, a
 * worker leaving its group mid-stream, its inference thread dying, a fenced zombie, Redis going
 * away in `fail` mode.
 */

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ConfigError, FencedError } from "../../src/errors/errors.js";
import { startWorker, type Worker } from "../../src/pipeline/live-worker.js";
import { ExactlyOnceSink } from "../../src/sinks/kafka/exactly-once-sink.js";
import { RestartingThread } from "../../src/threads/restarting-thread.js";
import { TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import { freePort, startRedis } from "../helpers/redis-server.js";
import type { TestServices } from "../helpers/services.js";
import {
  configOf,
  eventOutput,
  exactlyOnceSinkOptions,
  idCounts,
  spawnWorker,
  tally,
  type WorkerSetup,
  waitForRecords,
  workerSetup,
} from "../helpers/worker-setup.js";

const texts = tinyTexts();

let services: TestServices;
let client: KafkaTestClient;

openForFile((opened) => {
  ({ services, client } = opened);
});

const setup = (partitions: number, flags: Record<string, string> = {}) =>
  workerSetup(client, services, { partitions, flags });

/** Produces ids `s-<from>` … `s-<to - 1>` in small bursts, as a live feed does. */
async function feed(topic: string, to: number, from = 0, perBurst = 25, pauseMs = 40): Promise<void> {
  for (let start = from; start < to; start += perBurst) {
    const messages = Array.from({ length: Math.min(perBurst, to - start) }, (_, j) => {
      const i = start + j;
      return { key: `user-${i % 13}`, value: JSON.stringify({ id: `s-${i}`, text: texts[i % texts.length] }) };
    });
    await client.produce(topic, messages);
    await sleep(pauseMs);
  }
}

const spawnWorkerOf = (s: WorkerSetup) => spawnWorker(s.flags);
const waitForEvents = (topic: string, atLeast: number) => waitForRecords(client, topic, atLeast);
const expected = (total: number) => Array.from({ length: total }, (_, i) => `s-${i}`);

describe("the Kafka worker under failures", () => {
  for (const delivery of ["exactly-once", "at-least-once"] as const) {
    it(`loses nothing when SIGKILLed mid-stream and restarted (${delivery})`, async () => {
      // De-duplication off: Redis would hide repeated outputs, and this is about the delivery mode
      // alone (with it off, at-least-once does show doubles after a kill; exactly-once never).
      const s = await setup(4, { "kafka.delivery": delivery, "dedup.enabled": "false" });
      const total = 1200;
      const feeding = feed(s.input, total);
      const first = spawnWorkerOf(s);
      await waitForEvents(s.output, 150);
      first.kill("SIGKILL");
      await new Promise((r) => first.once("exit", r));
      const second = spawnWorkerOf(s);
      try {
        await feeding;
        await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 90_000);
      } finally {
        second.kill("SIGTERM");
        await new Promise((r) => second.once("exit", r));
      }
      const { doubled, missing } = tally(idCounts(await client.readAll(s.output, { count: total })), expected(total));
      assert.deepEqual(missing, []);
      if (delivery === "exactly-once") assert.deepEqual(doubled, []);
    });
  }

  it("keeps each id once when one of two workers in a group stops mid-stream (exactly-once)", async () => {
    const s = await setup(6);
    const total = 900;
    const a = await startWorker(configOf(s));
    const b = await startWorker(configOf(s));
    try {
      const feeding = feed(s.input, total);
      await waitForEvents(s.output, 200);
      await a.stop();
      await feeding;
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 90_000);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    assert.deepEqual(tally(idCounts(await client.readAll(s.output, { count: total })), expected(total)), {
      doubled: [],
      missing: [],
    });
  });

  it("keeps each id once when its inference thread dies mid-stream: a new one serves the next batches (exactly-once)", async () => {
    // De-duplication off, as above: the delivery mode alone must keep each id once. The model from
    // a copy, which the test breaks at the end.
    const modelDir = mkdtempSync(join(tmpdir(), "sw-model-"));
    cpSync(TINY_MODEL_DIR, modelDir, { recursive: true });
    const s = await setup(4, { "dedup.enabled": "false", "model.dir": modelDir });
    const total = 900;
    const logged: string[] = [];
    const worker = await startWorker(configOf(s), { log: (message) => void logged.push(message) });
    let failed: unknown;
    worker.failed.catch((error: unknown) => {
      failed = error;
    });
    try {
      const thread = [...RestartingThread.running].find((t) => t.name === "the inference thread");
      assert.ok(thread, "the worker runs its model in a thread");
      const feeding = feed(s.input, total);
      for (const atLeast of [150, 350, 550]) {
        await waitForEvents(s.output, atLeast);
        // On the arrival of its next batch: a chunk's batch is in flight when it dies.
        await thread.exitForTest(70, true);
      }
      await feeding;
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 90_000);
      assert.equal(thread.restarts, 3);
      assert.equal(worker.readiness().model, true);
      const count = (message: string) => logged.filter((m) => m === message).length;
      assert.equal(count("the inference thread stopped; starting another in its place"), 3);
      // The failed chunks were read again by the restarted consumer, in this process.
      assert.ok(count("the Kafka consumer failed and restarts") >= 1, logged.join("\n"));
      assert.equal(failed, undefined, "the worker did not give up");

      // A new thread that cannot load the model: readiness says so until one can.
      const onnx = join(modelDir, "model.onnx");
      const model = readFileSync(onnx);
      writeFileSync(onnx, "not a model any more");
      await thread.exitForTest();
      const notReady = Date.now() + 20_000;
      while (worker.readiness().model && Date.now() < notReady) await sleep(50);
      assert.equal(worker.readiness().model, false, "the model check fails while no thread runs the model");
      writeFileSync(onnx, model);
      const ready = Date.now() + 20_000;
      while (!worker.readiness().model && Date.now() < ready) await sleep(50);
      assert.equal(worker.readiness().model, true, "and passes once a new thread loaded it");
    } finally {
      await worker.stop();
      rmSync(modelDir, { recursive: true, force: true });
    }
    assert.deepEqual(tally(idCounts(await client.readAll(s.output, { count: total })), expected(total)), {
      doubled: [],
      missing: [],
    });
  });

  it("fences a zombie: after another owner takes the partition, the old one can neither publish nor commit", async () => {
    const s = await setup(1);
    const groupId = s.flags["kafka.groupId"] as string;
    const options = exactlyOnceSinkOptions(s);
    const zombie = new ExactlyOnceSink(client.client, options);
    const owner = new ExactlyOnceSink(client.client, options);
    try {
      await zombie.acquire(s.input, 0);
      await owner.acquire(s.input, 0);
      await assert.rejects(zombie.commit(eventOutput(s, "zombie", "5")), (e: unknown) => e instanceof FencedError);
      await owner.commit(eventOutput(s, "owner", "3"));
    } finally {
      await Promise.all([zombie.close(), owner.close()]);
    }
    const out = await client.readAll(s.output, { count: 1 });
    assert.deepEqual(
      out.map((r) => String(r.value)),
      ["owner"],
    );
    const [committed] = await client.admin.fetchOffsets({ groupId, topics: [s.input] });
    assert.equal(committed?.partitions[0]?.offset, "3");
  });

  it("fences on every acquisition: a worker that gets a partition back fences whoever held it in between", async () => {
    const s = await setup(1);
    const options = exactlyOnceSinkOptions(s);
    const first = new ExactlyOnceSink(client.client, options);
    const between = new ExactlyOnceSink(client.client, options);
    const output = (value: string, nextOffset: string) => eventOutput(s, value, nextOffset);
    try {
      await first.acquire(s.input, 0);
      await first.commit(output("first", "1"));
      await between.acquire(s.input, 0);
      // The partition comes back to the first worker, whose producer for it still exists.
      await first.acquire(s.input, 0);
      await assert.rejects(between.commit(output("between", "2")), (e: unknown) => e instanceof FencedError);
      await first.commit(output("first again", "2"));
    } finally {
      await Promise.all([first.close(), between.close()]);
    }
    const out = await client.readAll(s.output, { count: 2 });
    assert.deepEqual(out.map((r) => String(r.value)).sort(), ["first", "first again"]);
  });

  it("pauses while Redis is down in fail mode, readiness false, then resumes with nothing lost or doubled", async () => {
    const redis = await startRedis();
    const s = await setup(2, { "dedup.redisUrl": redis.url, "dedup.onRedisUnavailable": "fail" });
    let worker: Worker | undefined;
    try {
      worker = await startWorker(configOf(s));
      const total = 400;
      await feed(s.input, 100);
      await waitForEvents(s.output, 100);
      await redis.stop();
      const feeding = feed(s.input, total, 100);
      const deadline = Date.now() + 20_000;
      while (worker.isReady() && Date.now() < deadline) await sleep(100);
      assert.equal(worker.isReady(), false, "readiness goes false");
      // A chunk claimed before Redis went down may still commit (another partition's failed claim
      // is what flipped readiness): the count first settles, then must stay put.
      let pausedAt = worker.counters.events;
      for (let still = Date.now(); Date.now() - still < 1000 && Date.now() < deadline + 10_000; await sleep(100)) {
        if (worker.counters.events !== pausedAt) [pausedAt, still] = [worker.counters.events, Date.now()];
      }
      await sleep(1500);
      assert.equal(worker.counters.events, pausedAt, "nothing is tagged without de-duplication");
      await redis.start();
      await feeding;
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 90_000);
      assert.equal(worker.isReady(), true);
      const found = (await client.readAll(s.output, { count: total })).map((r) => JSON.parse(String(r.value)).id);
      assert.equal(found.length, total);
      assert.equal(new Set(found).size, total);
    } finally {
      await worker?.stop();
      await redis.stop();
    }
  });

  it("exits 0 on a SIGTERM at any moment of start-up, while a thread loads its model too", async () => {
    // process.exit while the inference thread loaded ONNX Runtime aborted the process (SIGABRT):
    // the window is a few hundred milliseconds after "starting", so the signal sweeps across it.
    const s = await setup(2, { "telemetry.logLevel": "info" });
    const bad: Array<{ delay: number; code: number | null; signal: string | null }> = [];
    for (let delay = 0; delay <= 600; delay += 50) {
      const child = spawnWorkerOf(s);
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
        child.once("exit", (code, signal) => r({ code, signal })),
      );
      let stderr = "";
      const starting = new Promise<void>((r) =>
        child.stderr?.on("data", (data: Buffer) => {
          stderr += data.toString();
          if (stderr.includes('"starting"')) r();
        }),
      );
      await Promise.race([starting, exited]);
      await sleep(delay);
      child.kill("SIGTERM");
      const exit = await exited;
      if (exit.code !== 0) bad.push({ delay, ...exit });
    }
    assert.deepEqual(bad, []);
  });

  it("refuses to start when Redis refuses its credentials, naming dedup.redisUrl", async () => {
    const redis = await startRedis({ password: "sw-secret" });
    try {
      for (const [url, answer] of [
        [redis.url, /NOAUTH/],
        [redis.url.replace("//", "//:wrong@"), /WRONGPASS/],
      ] as const) {
        const s = await setup(1, { "dedup.redisUrl": url });
        const started = startWorker(configOf(s));
        started.then((w) => w.stop()).catch(() => {}); // should it start, it must not outlive the test
        await assert.rejects(started, (error: Error) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, /dedup\.redisUrl: Redis refused the connection/);
          assert.match(error.message, answer);
          return true;
        });
      }
    } finally {
      await redis.stop();
    }
  });

  it("starts not ready while Redis cannot be reached, and tags once it answers", async () => {
    const port = await freePort();
    const s = await setup(1, { "dedup.redisUrl": `redis://127.0.0.1:${port}`, "dedup.onRedisUnavailable": "fail" });
    await feed(s.input, 20);
    const worker = await startWorker(configOf(s));
    let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
    try {
      assert.equal(worker.readiness().redis, false, "not ready: Redis never answered");
      await sleep(1000);
      assert.equal(worker.counters.events, 0, "nothing tagged without de-duplication");
      redis = await startRedis({ port });
      const deadline = Date.now() + 30_000;
      while (!worker.isReady() && Date.now() < deadline) await sleep(100);
      assert.equal(worker.isReady(), true, "ready once Redis answers");
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 60_000);
      const found = (await client.readAll(s.output, { count: 20 })).map((r) => JSON.parse(String(r.value)).id);
      assert.deepEqual(found.sort(), expected(20).sort());
    } finally {
      await worker.stop();
      await redis?.stop();
    }
  });
});
