/**
 * `sentiment-worker replay` against the real broker and Redis, run as the command (a child process,
 * so a test can SIGKILL it): what lands on the output and dead-letter topics, the progress it
 * reports, resuming after a kill, `--retag`, and a live worker's group left alone.
 */

import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/config/index.js";
import type { SentimentEvent } from "../../src/events/sentiment-event.js";
import { startWorker, type Worker } from "../../src/pipeline/live-worker.js";
import type { ProgressSnapshot } from "../../src/replay/progress.js";
import { HEADERS } from "../../src/sinks/kafka/records.js";
import { TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { closeIntegration, openIntegration } from "../helpers/integration.js";
import type { KafkaTestClient, ReadRecord } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { killReplays, type ReplayRun, runReplay, tally } from "../helpers/replay-cli.js";
import type { TestServices } from "../helpers/services.js";

const texts = tinyTexts();
const PARTITIONS = 3;
/**
 * Record i is stamped BASE + i seconds: a time range is a range of i. BASE is an hour ago, within
 * the broker's retention (7 days by default): with a fixed date months back, the broker's retention
 * check (30 s after its start, then every 5 min) deleted a test's records between its produce and
 * its replay whenever a check fell in between, and the replay found an empty range (done 0 of 0).
 */
const BASE = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const at = (i: number) => new Date(BASE + i * 1000).toISOString();

let services: TestServices;
let client: KafkaTestClient;
const workers: Worker[] = [];

before(async () => {
  ({ services, client } = await openIntegration());
});

after(async () => {
  killReplays();
  await Promise.all(workers.map((w) => w.stop()));
  await closeIntegration({ services, client });
});

interface Setup {
  input: string;
  output: string;
  dlq: string;
  /** Configuration flags common to the live worker and the replays of one test. */
  flags: Record<string, string>;
}

async function setup(extra: Record<string, string> = {}): Promise<Setup> {
  const input = await client.createTopic("posts", PARTITIONS);
  const output = await client.createTopic("sentiment", 3);
  const dlq = await client.createTopic("dead-letters", 1);
  return {
    input,
    output,
    dlq,
    flags: {
      "kafka.brokers": services.kafkaBrokers.join(","),
      "kafka.outputTopic": output,
      "kafka.deadLetterTopic": dlq,
      "kafka.groupId": uniqueName("worker"),
      // A SIGKILLed replay's member is dropped after this; the next run joins once it is.
      "kafka.sessionTimeoutMs": "6000",
      "kafka.heartbeatIntervalMs": "1000",
      "dedup.redisUrl": services.redisUrl,
      "dedup.keyPrefix": `${uniqueName("seen")}:`,
      "model.dir": TINY_MODEL_DIR,
      "runtime.intraOpThreads": "1",
      ...extra,
    },
  };
}

/** Record i: id `r-i`, partition i mod 3, timestamp BASE + i s; the ids in `bad` are not JSON. */
async function produceTimed(topic: string, from: number, to: number, bad: ReadonlySet<number> = new Set()) {
  const messages = [];
  for (let i = from; i < to; i++) {
    messages.push({
      partition: i % PARTITIONS,
      key: `user-${i % 17}`,
      value: bad.has(i) ? `{"id": "r-${i}", "text": ` : JSON.stringify({ id: `r-${i}`, text: texts[i % texts.length] }),
      timestamp: String(BASE + i * 1000),
    });
  }
  await client.produce(topic, messages);
}

/** Starts `replay` with the setup's flags (and `flags` over them); `onProgress` sees each JSON progress line. */
function startReplay(
  s: Setup,
  args: string[],
  flags: Record<string, string> = {},
  onProgress?: (p: ProgressSnapshot, child: ChildProcess) => void,
): Promise<ReplayRun> {
  return runReplay(args, { ...s.flags, ...flags }, onProgress);
}

/**
 * The events of the records read, each output record once: the test reader's own group may
 * rebalance under load and be handed a record again, which is no double output.
 */
function events(records: ReadRecord[]): SentimentEvent[] {
  const distinct = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]));
  return [...distinct.values()].map((r) => JSON.parse(String(r.value)) as SentimentEvent);
}

/** Each id of `expected` exactly once, and nothing else. */
function assertExactlyOnce(found: string[], expected: string[], context = ""): void {
  const { doubled, missing, unexpected } = tally(found, expected);
  const wrong = { doubled, missing, unexpected };
  if (Object.values(wrong).some((list) => list.length > 0)) assert.fail(`${JSON.stringify(wrong)}\n${context}`);
}

const ids = (from: number, to: number, except: ReadonlySet<number> = new Set()) =>
  Array.from({ length: to - from }, (_, k) => from + k)
    .filter((i) => !except.has(i))
    .map((i) => `r-${i}`);

/**
 * The group's committed offsets for the watcher, or undefined when not known this time: the broker
 * can answer without an entry for the topic (seen once, under load) or fail transiently, and
 * neither says the offsets moved. Partitions absent from the answer are left out.
 */
async function committedIfKnown(groupId: string, topic: string): Promise<Record<number, string> | undefined> {
  try {
    const [entry] = await client.admin.fetchOffsets({ groupId, topics: [topic] });
    if (!entry || entry.partitions.length === 0) return undefined;
    return Object.fromEntries(entry.partitions.map((p) => [p.partition, p.offset]));
  } catch {
    return undefined;
  }
}

/** A progress watcher that sends SIGTERM, once, when the replay has done `percent`. */
function sigtermAt(percent: number): (p: ProgressSnapshot, child: ChildProcess) => void {
  let signalled = false;
  return (p, child) => {
    if (p.percent >= percent && !signalled) {
      signalled = true;
      child.kill("SIGTERM");
    }
  };
}

function assertDone(run: ReplayRun, total: number, partitions = PARTITIONS): void {
  assert.equal(run.code, 0, `exit status 0, stderr:\n${run.stderr}`);
  const last = run.progress[run.progress.length - 1];
  assert.ok(last, "progress lines were written");
  assert.equal(last.percent, 100);
  assert.equal(last.done, total);
  assert.equal(last.total, total);
  assert.equal(last.partitionsDone, partitions);
}

describe("sentiment-worker replay", () => {
  it("replays exactly the records of a middle time range, dead letters included, and exits 0 at 100%", async () => {
    const s = await setup();
    // Bad records inside the range (150, 151) and outside it (10, 250).
    const bad = new Set([10, 150, 151, 250]);
    await produceTimed(s.input, 0, 300, bad);
    const range = ["--topic", s.input, "--from", at(100), "--to", at(200)];

    const dry = await startReplay(s, [...range, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = (JSON.parse(dry.stdout) as { plan: { total: number; partitions: Array<{ records: number }> } }).plan;
    assert.equal(plan.total, 100);
    assert.equal(plan.partitions.length, PARTITIONS);
    assert.deepEqual(
      plan.partitions.map((p) => p.records),
      [33, 34, 33],
    );
    assert.equal((await client.readAll(s.output, { count: 0, quietMs: 500 })).length, 0, "a dry run writes nothing");

    const run = await startReplay(s, range);
    assertDone(run, 100);
    assert.equal(run.summary?.records, 100);
    assert.equal(run.summary?.events, 98);
    assert.equal(run.summary?.deadLetters, 2);

    const out = events(await client.readAll(s.output, { count: 98 }));
    assertExactlyOnce(
      out.map((e) => e.id),
      ids(100, 200, bad),
    );
    for (const e of out) assert.ok(e.source.timestamp >= at(100) && e.source.timestamp < at(200), e.source.timestamp);
    const letters = await client.readAll(s.dlq, { count: 2 });
    assert.deepEqual(
      letters.map((l) => String(l.headers[HEADERS.errorCode])),
      ["INVALID_JSON", "INVALID_JSON"],
    );
    assert.deepEqual(letters.map((l) => String(l.value)).sort(), [
      '{"id": "r-150", "text": ',
      '{"id": "r-151", "text": ',
    ]);

    // The same arguments again: the replay is complete, nothing more is written.
    const again = await startReplay(s, range);
    assertDone(again, 100);
    assert.equal(again.summary?.records, 0);
    assert.equal((await client.readAll(s.output, { count: 98, quietMs: 500 })).length, 98);
  });

  it("resumes after a SIGKILL halfway: the two runs emit each record of the range exactly once, and `--to now` keeps its end", async () => {
    // De-duplication off: only the committed position may keep the second run from repeating.
    const s = await setup({ "dedup.enabled": "false", "batching.maxBatchSize": "8" });
    await produceTimed(s.input, 0, 900);
    const args = ["--topic", s.input, "--from", at(100), "--to", "now", "--rate", "150"];
    const first = await startReplay(s, args, {}, (p, child) => {
      if (p.percent >= 25) child.kill("SIGKILL");
    });
    assert.equal(first.signal, "SIGKILL", `killed mid-way, stderr:\n${first.stderr}`);
    const killedAt = first.progress[first.progress.length - 1]?.done ?? 0;
    assert.ok(killedAt > 0 && killedAt < 800, `killed at ${killedAt} of 800`);
    // Records that arrive after the plan was made are not part of this replay.
    await produceTimed(s.input, 900, 960);

    const second = await startReplay(s, args);
    assertDone(second, 800);
    const resumedFrom = second.progress[0]?.done ?? 0;
    assert.ok(resumedFrom >= killedAt, `resumed from ${resumedFrom}, the first run had ${killedAt}`);
    assert.ok((second.summary?.records ?? 0) <= 800 - killedAt, "the second run did not start over");
    assert.ok((second.summary?.records ?? 0) > 0);

    const found = events(await client.readAll(s.output, { count: 800 })).map((e) => e.id);
    assertExactlyOnce(found, ids(100, 900), `first run:\n${first.stderr}\nsecond run:\n${second.stderr}`);
  });

  it("stops on SIGTERM after committing what is in flight, exits 143 and says it is not complete; the same command finishes it", async () => {
    const s = await setup({ "dedup.enabled": "false", "batching.maxBatchSize": "8" });
    await produceTimed(s.input, 0, 300);
    const args = ["--topic", s.input, "--from", "earliest", "--to", "now", "--rate", "100"];
    const first = await startReplay(s, args, {}, sigtermAt(20));
    assert.equal(first.code, 143, `exit status of a stopped replay, stderr:\n${first.stderr}`);
    assert.equal((first.summary as { replay?: { complete: boolean } } | undefined)?.replay?.complete, false);
    assert.match(first.stderr, /finishing the batches in flight; the same command resumes/);
    const second = await startReplay(s, args);
    assertDone(second, 300);
    const found = events(await client.readAll(s.output, { count: 300 })).map((e) => e.id);
    assertExactlyOnce(found, ids(0, 300), `first run:\n${first.stderr}\nsecond run:\n${second.stderr}`);
  });

  it("resumed after the topic's retention took part of its range: says which offsets are gone and how many, tags the rest once, and ends", async () => {
    const s = await setup({ "dedup.enabled": "false", "batching.maxBatchSize": "8" });
    await produceTimed(s.input, 0, 300);
    const args = ["--topic", s.input, "--from", "earliest", "--to", "now", "--rate", "100"];
    const first = await startReplay(s, args, {}, sigtermAt(20));
    assert.equal(first.code, 143, `stopped part-way, stderr:\n${first.stderr}`);
    const group = first.summary?.replay?.group as string;
    let committed: Record<number, string> | undefined;
    while (committed === undefined || Object.keys(committed).length < PARTITIONS) {
      committed = await committedIfKnown(group, s.input);
      if (committed === undefined) await sleep(100);
    }
    // Partition p holds record i (i mod 3 = p) at offset i div 3: 100 a partition.
    const position = (p: number) => Math.max(0, Number(committed?.[p] ?? "0"));
    // What retention does to a topic: its log start moves on. Partition 0 loses offsets below 80,
    // partition 1 everything (a range no fetch can reach the end of any more).
    await client.admin.deleteTopicRecords({
      topic: s.input,
      partitions: [
        { partition: 0, offset: "80" },
        { partition: 1, offset: "-1" },
      ],
    });
    const lost = (i: number) =>
      (i % 3 === 0 && Math.floor(i / 3) >= position(0) && Math.floor(i / 3) < 80) ||
      (i % 3 === 1 && Math.floor(i / 3) >= position(1));
    const expectedLost = Math.max(0, 80 - position(0)) + (100 - position(1));
    assert.ok(expectedLost > 0, `the first run stopped at ${JSON.stringify(committed)}`);

    const second = await startReplay(s, args);
    assertDone(second, 300);
    assert.equal(second.summary?.replay?.deleted, expectedLost, `stderr:\n${second.stderr}`);
    assert.match(second.stderr, /deleted from the topic before it read them/);
    const kept = ids(0, 300, new Set(Array.from({ length: 300 }, (_, i) => i).filter(lost)));
    const found = events(await client.readAll(s.output, { count: kept.length })).map((e) => e.id);
    assertExactlyOnce(found, kept, `first run:\n${first.stderr}\nsecond run:\n${second.stderr}`);
  });

  it("ends on its own when the range ends in transaction markers and aborted records (a transactional input)", async () => {
    const s = await setup();
    const producer = client.kafka.producer({
      transactionalId: uniqueName("upstream"),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const batch = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) => ({
        partition: (from + k) % PARTITIONS,
        value: JSON.stringify({ id: `r-${from + k}`, text: texts[(from + k) % texts.length] }),
      }));
    try {
      for (const [from, to, commit] of [
        [0, 30, true],
        [30, 45, false],
        [45, 90, true],
        [90, 99, false],
      ] as const) {
        const transaction = await producer.transaction();
        await transaction.send({ topic: s.input, messages: batch(from, to) });
        await (commit ? transaction.commit() : transaction.abort());
      }
    } finally {
      await producer.disconnect();
    }
    // Every partition now ends in an abort marker; its last records were never committed.
    const run = await startReplay(s, ["--topic", s.input, "--from", "earliest", "--to", "now"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.progress[run.progress.length - 1]?.percent, 100);
    assert.equal(run.summary?.records, 75);
    const found = events(await client.readAll(s.output, { count: 75 })).map((e) => e.id);
    assertExactlyOnce(found, [...ids(0, 30), ...ids(45, 90)]);
  });

  it("--retag re-tags what a live worker tagged, which a replay without it skips; the live group's offsets never move", async () => {
    const s = await setup();
    const total = 120;
    await produceTimed(s.input, 0, total);
    const liveConfig = loadConfig({
      env: {},
      flags: { ...s.flags, "input.source": "kafka", "kafka.inputTopics": s.input },
    });
    const live = await startWorker(liveConfig);
    workers.push(live);
    await client.waitForGroupAtEnd(liveConfig.kafka.groupId, s.input);
    const liveEvents = events(await client.readAll(s.output, { count: total }));
    assert.equal(liveEvents.length, total);
    const liveRevision = liveEvents[0]?.model.revision;

    // The reference itself must be a known answer (all partitions), else everything looks moved.
    let known: Record<number, string> | undefined;
    for (let i = 0; i < 100 && Object.keys(known ?? {}).length < PARTITIONS; i++) {
      known = await committedIfKnown(liveConfig.kafka.groupId, s.input);
      if (Object.keys(known ?? {}).length < PARTITIONS) await sleep(100);
    }
    assert.ok(known && Object.keys(known).length === PARTITIONS, "the live group's offsets are known");
    const liveOffsets = known;
    const moved: Array<Record<number, string>> = [];
    let watching = true;
    let answers = 0;
    const watcher = (async () => {
      while (watching) {
        const now = await committedIfKnown(liveConfig.kafka.groupId, s.input);
        if (now !== undefined) {
          answers++;
          // Only the partitions the answer has are compared: a missing one is not known, not moved.
          const changed = Object.entries(now).filter(([p, offset]) => liveOffsets[Number(p)] !== offset);
          if (changed.length > 0) moved.push(now);
        }
        await sleep(100);
      }
    })();

    const replayOut = await client.createTopic("replayed", 3);
    const range = ["--topic", s.input, "--from", "earliest", "--to", "now", "--output-topic", replayOut];
    try {
      const plain = await startReplay(s, range);
      assertDone(plain, total);
      assert.equal(plain.summary?.events, 0);
      assert.equal(plain.summary?.duplicatesSkipped, total);

      const retagged = await startReplay(s, [...range, "--retag"], { "model.variant": "int8" });
      assertDone(retagged, total);
      assert.equal(retagged.summary?.events, total);
      const out = events(await client.readAll(replayOut, { count: total }));
      assertExactlyOnce(
        out.map((e) => e.id),
        ids(0, total),
      );
      assert.ok(
        out.every((e) => e.model.revision !== liveRevision),
        "tagged by the new model revision",
      );

      // --retag ignores the keys themselves, not only another revision's: the same model tags again.
      const sameModel = await startReplay(s, [...range, "--retag", "--partitions", "1"]);
      assertDone(sameModel, 40, 1);
      assert.equal(sameModel.summary?.events, 40);
    } finally {
      watching = false;
      await watcher;
    }
    assert.deepEqual(moved, [], "the live group's committed offsets did not change");
    assert.ok(answers > 0, "the watcher saw the live group's offsets at least once");
    assert.deepEqual(
      Object.values(liveOffsets),
      Array.from({ length: PARTITIONS }, () => String(total / PARTITIONS)),
    );
    assert.equal(live.counters.events, total, "the live worker re-read nothing");
  });
});
