/**
 * Two chunks of a partition in flight (`kafka.chunksInFlight`), against the real broker and Redis:
 * the next chunk is inferred while the one before commits, commits stay in offset order, and a
 * SIGKILL, a rebalance or a fence during the overlap loses nothing, doubles nothing under
 * exactly-once, moves the committed offsets to the end and leaves no claim pending in Redis.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { startWorker, type Worker } from "../../src/pipeline/live-worker.js";
import { ExactlyOnceSink } from "../../src/sinks/kafka/exactly-once-sink.js";
import { startTelemetry, type Telemetry } from "../../src/telemetry/index.js";
import { SPANS } from "../../src/telemetry/names.js";
import { tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import type { TestServices } from "../helpers/services.js";
import {
  configOf,
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

type Delivery = "exactly-once" | "at-least-once";

const setup = (partitions: number, flags: Record<string, string> = {}) =>
  workerSetup(client, services, { partitions, flags });

/** A backlog of ids `o-0` … `o-<total - 1>`, keyed over 13 users (so every partition gets some). */
async function backlog(topic: string, total: number): Promise<string[]> {
  const ids = Array.from({ length: total }, (_, i) => `o-${i}`);
  await client.produce(
    topic,
    ids.map((id, i) => ({ key: `user-${i % 13}`, value: JSON.stringify({ id, text: texts[i % texts.length] }) })),
  );
  return ids;
}

/** One chunk as the pipeline's trace saw it: when each stage ran and how it ended. */
interface SeenChunk {
  partition: number;
  first: number;
  count: number;
  start: number;
  end?: number;
  outcome?: string;
  stages: Partial<Record<string, { start: number; end: number }>>;
}

/**
 * Telemetry whose chunk traces are also noted here (the real spans still run): the stages of
 * every chunk with their times, in the order the pipeline started them.
 */
async function observedTelemetry(s: WorkerSetup): Promise<{ telemetry: Telemetry; chunks: SeenChunk[] }> {
  const telemetry = await startTelemetry(configOf(s).telemetry, { version: "test" });
  const chunks: SeenChunk[] = [];
  const tracing = telemetry.tracing;
  const chunk = tracing.chunk.bind(tracing);
  tracing.chunk = (topic, partition, messages) => {
    const trace = chunk(topic, partition, messages);
    const offsets = messages.map((m) => Number((m as { offset: string }).offset));
    const seen: SeenChunk = {
      partition,
      first: offsets[0] ?? -1,
      count: offsets.length,
      start: performance.now(),
      stages: {},
    };
    chunks.push(seen);
    const stage = trace.stage.bind(trace);
    trace.stage = (async (name: string, work: () => unknown) => {
      const start = performance.now();
      try {
        return await stage(name, work);
      } finally {
        seen.stages[name] = { start, end: performance.now() };
      }
    }) as typeof trace.stage;
    const end = trace.end.bind(trace);
    trace.end = (outcome, error) => {
      seen.end = performance.now();
      seen.outcome = outcome;
      end(outcome, error);
    };
    return trace;
  };
  return { telemetry, chunks };
}

/** Each partition's committed chunks in offset order. */
function committedByPartition(chunks: readonly SeenChunk[]): SeenChunk[][] {
  const partitions = new Map<number, SeenChunk[]>();
  for (const c of chunks.filter((c) => c.outcome === "processed")) {
    partitions.set(c.partition, [...(partitions.get(c.partition) ?? []), c]);
  }
  return [...partitions.values()].map((list) => list.sort((a, b) => a.first - b.first));
}

/** Pairs of consecutive committed chunks where the later one's inference started before the earlier one's commit ended. */
function overlaps(chunks: readonly SeenChunk[]): number {
  let n = 0;
  for (const list of committedByPartition(chunks)) {
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1] as SeenChunk;
      const infer = (list[i] as SeenChunk).stages[SPANS.infer];
      const commit = before.stages[SPANS.produce];
      if (infer && commit && infer.start < commit.end) n++;
    }
  }
  return n;
}

/** Consecutive committed chunks whose commits were not one after the other in offset order. */
function commitsOutOfOrder(chunks: readonly SeenChunk[]): string[] {
  const wrong: string[] = [];
  for (const list of committedByPartition(chunks)) {
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1] as SeenChunk, list[i] as SeenChunk];
      const [ca, cb] = [a.stages[SPANS.produce], b.stages[SPANS.produce]];
      if (a.first + a.count > b.first) wrong.push(`${b.partition}@${b.first} overlaps the chunk before`);
      if (!ca || !cb || cb.start < ca.end) wrong.push(`${b.partition}@${b.first} committed before ${a.first} ended`);
    }
  }
  return wrong;
}

/** The most chunks of one partition in flight at any moment. */
function mostInFlight(chunks: readonly SeenChunk[]): number {
  let most = 0;
  for (const c of chunks) {
    const together = chunks.filter(
      (o) => o.partition === c.partition && o.start <= c.start && (o.end ?? Number.POSITIVE_INFINITY) > c.start,
    );
    most = Math.max(most, together.length);
  }
  return most;
}

/** The worker's de-duplication keys still pending (claimed, never confirmed nor released). */
async function pendingClaims(s: WorkerSetup): Promise<string[]> {
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", `${s.flags["dedup.keyPrefix"]}*`, "COUNT", 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== "0");
    assert.ok(keys.length > 0, "the worker claimed ids in Redis");
    const values = keys.length > 0 ? await redis.mget(...keys) : [];
    return keys.filter((_, i) => values[i]?.startsWith("p|"));
  } finally {
    redis.disconnect();
  }
}

/**
 * What a user checks after a run: each id on the output (once under exactly-once), offsets at the
 * end, no claim left pending. After a SIGKILL (`killed`), a kill between a commit and its confirm
 * leaves that chunk's claims pending until their TTL: allowed only for ids whose events exist.
 */
async function checkOutcome(s: WorkerSetup, delivery: Delivery, ids: readonly string[], killed = false) {
  await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 90_000);
  const counts = idCounts(await client.readAll(s.output, { count: ids.length }));
  const { doubled, missing } = tally(counts, ids);
  assert.deepEqual(missing, [], "every id has its event");
  if (delivery === "exactly-once") assert.deepEqual(doubled, [], "no id twice");
  // At least once: a repeat comes only from a chunk in flight at a kill, so once more at most.
  else if (!killed) assert.deepEqual(doubled, [], "no repeat without a kill");
  else
    assert.deepEqual(
      [...counts].filter(([, n]) => n > 2),
      [],
      "no id more than twice after one kill",
    );
  const pending = await pendingClaims(s);
  const stuck = killed ? pending.filter((key) => !ids.some((id) => key.endsWith(`:${id}`) && counts.has(id))) : pending;
  assert.deepEqual(stuck, [], "no claim left pending");
}

const stopAll = (workers: readonly (Worker | undefined)[]) => Promise.all(workers.map((w) => w?.stop()));

describe("two chunks of a partition in flight", { timeout: 600_000 }, () => {
  for (const delivery of ["exactly-once", "at-least-once"] as const) {
    it(`infers the next chunk while the one before commits, and commits in offset order (${delivery}); not with chunksInFlight 1`, async () => {
      for (const inFlight of [2, 1]) {
        const s = await setup(2, { "kafka.delivery": delivery, "kafka.chunksInFlight": String(inFlight) });
        const ids = await backlog(s.input, 3000);
        const { telemetry, chunks } = await observedTelemetry(s);
        const worker = await startWorker(configOf(s), { telemetry });
        try {
          await checkOutcome(s, delivery, ids);
        } finally {
          await worker.stop();
          await telemetry.shutdown();
        }
        assert.deepEqual(commitsOutOfOrder(chunks), [], `chunksInFlight ${inFlight}`);
        const overlapping = overlaps(chunks);
        if (inFlight === 2) {
          assert.ok(
            overlapping > 0,
            `a chunk's inference began before the commit of the one before (${chunks.length} chunks)`,
          );
          assert.equal(mostInFlight(chunks), 2);
        } else {
          assert.equal(overlapping, 0, "with chunksInFlight 1 a chunk starts once the one before ended");
          assert.equal(mostInFlight(chunks), 1);
        }
      }
    });

    it(`loses nothing when SIGKILLed while two chunks are in flight, and leaves no claim pending (${delivery})`, async () => {
      const s = await setup(4, { "kafka.delivery": delivery });
      const ids = await backlog(s.input, 4000);
      // A backlog: the next chunk of a partition is handed out as soon as the one before claimed,
      // so two are in flight nearly all the time; the kill lands among them.
      const first = spawnWorker(s.flags);
      await waitForRecords(client, s.output, 800);
      first.kill("SIGKILL");
      await once(first, "exit");
      const second = spawnWorker(s.flags);
      try {
        await checkOutcome(s, delivery, ids, true);
      } finally {
        second.kill("SIGTERM");
        await once(second, "exit");
      }
    });

    it(`hands partitions over in a rebalance while two chunks are in flight: nothing lost, no claim pending (${delivery})`, async () => {
      const s = await setup(4, { "kafka.delivery": delivery });
      const ids = await backlog(s.input, 4000);
      const { telemetry, chunks } = await observedTelemetry(s);
      const a = await startWorker(configOf(s), { telemetry });
      let b: Worker | undefined;
      try {
        const deadline = Date.now() + 60_000;
        while (mostInFlight(chunks.filter((c) => c.end === undefined)) < 2 && Date.now() < deadline) await sleep(5);
        assert.equal(mostInFlight(chunks.filter((c) => c.end === undefined)), 2, "two chunks in flight at the join");
        b = await startWorker(configOf(s));
        await checkOutcome(s, delivery, ids);
      } finally {
        await stopAll([a, b]);
        await telemetry.shutdown();
      }
    });
  }

  it("a fenced commit abandons the chunk behind it and releases its claims; nothing lost or doubled (exactly-once)", async () => {
    const s = await setup(1);
    const ids = await backlog(s.input, 6000);
    const { telemetry, chunks } = await observedTelemetry(s);
    const worker = await startWorker(configOf(s), { telemetry });
    // Another owner of the partition's transactional id, as a worker that took the partition over
    // would be: each acquisition fences the worker's open transaction; the worker fences back.
    const zombie = new ExactlyOnceSink(client.client, exactlyOnceSinkOptions(s));
    try {
      await waitForRecords(client, s.output, 200);
      for (let i = 0; i < 8 && !chunks.some((c) => c.outcome === "fenced"); i++) {
        await zombie.acquire(s.input, 0);
        await sleep(300);
      }
      await checkOutcome(s, "exactly-once", ids);
    } finally {
      await worker.stop();
      await zombie.close();
      await telemetry.shutdown();
    }
    // A fenced chunk with the next one in flight behind it, which gave itself up uncommitted.
    const behindFenced = chunks.filter((c) => {
      const fenced = chunks.find((f) => f.outcome === "fenced" && f.first + f.count === c.first);
      return fenced !== undefined && c.start < (fenced.end as number);
    });
    assert.ok(
      chunks.some((c) => c.outcome === "fenced"),
      "the worker was fenced",
    );
    assert.ok(behindFenced.length > 0, "a chunk was in flight behind a fenced one");
    for (const c of behindFenced) assert.equal(c.outcome, "abandoned", `the chunk at ${c.first}`);
  });
});
