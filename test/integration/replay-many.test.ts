/**
 * One replay shared by many `sentiment-worker replay` processes with the same arguments (issue
 * #25), against the real broker: they agree on one plan, split the partitions, finish a killed
 * one's partitions, and each exits 0 once the whole plan is done; a latecomer exits 0 at once.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { SentimentEvent } from "../../src/events/sentiment-event.js";
import type { ProgressSnapshot } from "../../src/replay/progress.js";
import { TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { closeIntegration, openIntegration } from "../helpers/integration.js";
import type { KafkaTestClient, ReadRecord } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { killReplays, type ReplayRun, runReplay, tally } from "../helpers/replay-cli.js";
import type { TestServices } from "../helpers/services.js";

const texts = tinyTexts();
const PARTITIONS = 6;
/** Stamps near now: the broker's retention check deletes records older than 7 days (see replay.test.ts). */
const BASE = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

let services: TestServices;
let client: KafkaTestClient;

before(async () => {
  ({ services, client } = await openIntegration());
});

after(async () => {
  killReplays();
  await closeIntegration({ services, client });
});

interface Setup {
  input: string;
  output: string;
  flags: Record<string, string>;
}

async function setup(extra: Record<string, string> = {}): Promise<Setup> {
  const input = await client.createTopic("posts", PARTITIONS);
  const output = await client.createTopic("sentiment", 3);
  const dlq = await client.createTopic("dead-letters", 1);
  return {
    input,
    output,
    flags: {
      "kafka.brokers": services.kafkaBrokers.join(","),
      "kafka.outputTopic": output,
      "kafka.deadLetterTopic": dlq,
      "kafka.groupId": uniqueName("worker"),
      // A SIGKILLed process's member is dropped after this; the others then take its partitions.
      "kafka.sessionTimeoutMs": "6000",
      "kafka.heartbeatIntervalMs": "1000",
      // Off: only the committed offsets may keep a record from being tagged twice.
      "dedup.enabled": "false",
      "batching.maxBatchSize": "8",
      "model.dir": TINY_MODEL_DIR,
      "runtime.intraOpThreads": "1",
      ...extra,
    },
  };
}

/** Record i: id `r-i`, partition i mod 6 at offset floor(i / 6), stamped near now. */
async function produce(topic: string, from: number, to: number): Promise<void> {
  const messages = [];
  for (let i = from; i < to; i++) {
    messages.push({
      partition: i % PARTITIONS,
      key: `user-${i % 17}`,
      value: JSON.stringify({ id: `r-${i}`, text: texts[i % texts.length] }),
      timestamp: String(BASE + i * 100),
    });
  }
  await client.produce(topic, messages);
}

function eventIds(records: ReadRecord[]): string[] {
  const distinct = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]));
  return [...distinct.values()].map((r) => (JSON.parse(String(r.value)) as SentimentEvent).id);
}

interface StoredPlan {
  id: string;
  total: number;
  partitions: Array<{ partition: number; start: string; end: string; done: number }>;
}

/** The stored plan as `--dry-run` prints it. */
async function dryRun(s: Setup, args: string[]): Promise<StoredPlan> {
  const run = await runReplay([...args, "--dry-run"], s.flags);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as { plan: StoredPlan }).plan;
}

/** The ids a plan covers: record i sits at offset floor(i / 6) of partition i mod 6. */
function planIds(plan: StoredPlan, produced: number): string[] {
  const ends = new Map(plan.partitions.map((p) => [p.partition, Number(p.end)]));
  const starts = new Map(plan.partitions.map((p) => [p.partition, Number(p.start)]));
  const found: string[] = [];
  for (let i = 0; i < produced; i++) {
    const offset = Math.floor(i / PARTITIONS);
    const p = i % PARTITIONS;
    if (offset >= (starts.get(p) ?? 0) && offset < (ends.get(p) ?? 0)) found.push(`r-${i}`);
  }
  return found;
}

const last = (run: ReplayRun): ProgressSnapshot | undefined => run.progress[run.progress.length - 1];
const context = (runs: ReplayRun[]) => runs.map((r, i) => `--- process ${i}:\n${r.stderr}`).join("\n");

function assertWholePlanDone(run: ReplayRun, total: number, runs: ReplayRun[]): void {
  assert.equal(run.code, 0, `exit status 0\n${context(runs)}`);
  const p = last(run);
  assert.ok(p, "progress lines were written");
  assert.equal(p.percent, 100);
  assert.equal(p.done, total, "the whole replay's records, not only this process's");
  assert.equal(p.total, total);
  assert.equal(p.partitionsDone, PARTITIONS);
}

describe("one replay, many processes", () => {
  it("three processes with the same arguments agree on one plan, split 6 partitions, tag every record once and all exit 0; one started after the end exits 0 at once", async () => {
    const s = await setup();
    await produce(s.input, 0, 600);
    const args = ["--topic", s.input, "--from", "earliest", "--to", "now", "--rate", "50"];
    // Records keep arriving while the three start: plans resolved at different moments would end
    // at different offsets, so only one stored plan makes them agree.
    let produced = 600;
    const arriving = (async () => {
      for (let k = 0; k < 10; k++) {
        await produce(s.input, produced, produced + 12);
        produced += 12;
        await sleep(150);
      }
    })();
    const runs = await Promise.all([0, 1, 2].map(() => runReplay(args, s.flags)));
    await arriving;

    const plan = await dryRun(s, args);
    const expected = planIds(plan, produced);
    assert.equal(expected.length, plan.total);
    assert.ok(plan.total >= 600, `the plan covers the first 600 records (${plan.total})`);
    for (const run of runs) assertWholePlanDone(run, plan.total, runs);
    assert.deepEqual(
      runs.map((r) => r.summary?.replay?.plan),
      [plan.id, plan.id, plan.id],
      "every process ran the stored plan",
    );
    // Each did a share, and the shares add up to the whole (exactly-once: nothing done twice).
    const shares = runs.map((r) => last(r)?.process?.done ?? 0);
    assert.ok(
      shares.every((n) => n > 0),
      `every process tagged some: ${shares}\n${context(runs)}`,
    );
    assert.equal(
      shares.reduce((a, b) => a + b, 0),
      plan.total,
    );
    const found = eventIds(await client.readAll(s.output, { count: plan.total }));
    const t = tally(found, expected);
    assert.deepEqual(
      { doubled: t.doubled, missing: t.missing, unexpected: t.unexpected },
      {
        doubled: [],
        missing: [],
        unexpected: [],
      },
    );

    const late = await runReplay(args, s.flags);
    assertWholePlanDone(late, plan.total, [late]);
    assert.equal(late.summary?.records, 0, "a finished replay tags nothing");
    assert.equal((await client.readAll(s.output, { count: plan.total, quietMs: 500 })).length, plan.total);
  });

  it("--retag: processes started together share the stored plan's de-duplication keys, so an id repeated across partitions is tagged once", async (t) => {
    const s = await setup({
      "dedup.enabled": "true",
      "dedup.redisUrl": services.redisUrl,
      "dedup.keyPrefix": `${uniqueName("seen")}:`,
    });
    // Record i has id d-(i mod 299): each id twice, 299 records apart, so in two different partitions.
    const messages = Array.from({ length: 598 }, (_, i) => ({
      partition: i % PARTITIONS,
      value: JSON.stringify({ id: `d-${i % 299}`, text: texts[i % texts.length] }),
      timestamp: String(BASE + i * 100),
    }));
    await client.produce(s.input, messages);
    const args = ["--topic", s.input, "--from", "earliest", "--to", "now", "--rate", "50", "--retag"];
    const runs = await Promise.all([0, 1, 2].map(() => runReplay(args, s.flags)));
    const plan = await dryRun(s, args);
    for (const run of runs) assertWholePlanDone(run, 598, runs);
    assert.deepEqual(
      runs.map((r) => r.summary?.replay?.plan),
      [plan.id, plan.id, plan.id],
    );
    const found = eventIds(await client.readAll(s.output, { count: 299 }));
    const tallied = tally(
      found,
      Array.from({ length: 299 }, (_, k) => `d-${k}`),
    );
    assert.deepEqual({ doubled: tallied.doubled, missing: tallied.missing }, { doubled: [], missing: [] });
    const restarted = runs.filter((r) => r.stderr.includes("another process stored the replay's plan first")).length;
    t.diagnostic(`${restarted} of 3 processes started again with the stored plan's keys`);
  });

  for (const delivery of ["exactly-once", "at-least-once"] as const) {
    it(`${delivery}: one of three SIGKILLed halfway, the other two finish its partitions and exit 0; every record ${delivery === "exactly-once" ? "once" : "at least once, repeats counted"}`, async (t) => {
      const s = await setup({ "kafka.delivery": delivery });
      await produce(s.input, 0, 600);
      const args = ["--topic", s.input, "--from", "earliest", "--to", "now", "--rate", "40"];
      let killedHeld: number[] = [];
      const victim = runReplay(args, s.flags, (p, child) => {
        // Killed once it holds partitions and committed some of them: its share is left half done.
        if (p.process.done >= 40 && p.process.partitions.length > 0 && killedHeld.length === 0) {
          killedHeld = p.process.partitions;
          child.kill("SIGKILL");
        }
      });
      const runs = [victim, ...[0, 1].map(() => runReplay(args, s.flags))];
      const [killed, ...others] = await Promise.all(runs);
      const all = [killed as ReplayRun, ...others];
      assert.equal(killed?.signal, "SIGKILL", `killed mid-way\n${context(all)}`);
      const plan = await dryRun(s, args);
      assert.equal(plan.total, 600);
      for (const run of others) assertWholePlanDone(run, 600, all);
      const killedShare = last(killed as ReplayRun)?.process.done ?? 0;
      assert.ok(killedShare < 600 && killedHeld.length > 0, `the killed process left work (${killedShare})`);

      const found = eventIds(await client.readAll(s.output, { count: 600 }));
      const tallied = tally(found, planIds(plan, 600));
      assert.deepEqual({ missing: tallied.missing, unexpected: tallied.unexpected }, { missing: [], unexpected: [] });
      if (delivery === "exactly-once") {
        assert.deepEqual(tallied.doubled, [], `no record twice\n${context(all)}`);
      } else {
        // Only what the killed process had in flight can come again, from the partitions it held.
        const repeats = tallied.doubled.map((id) => Number(id.slice(2)) % PARTITIONS);
        assert.ok(
          repeats.every((p) => killedHeld.includes(p)),
          `repeats ${tallied.doubled} are of the killed process's partitions ${killedHeld}`,
        );
        t.diagnostic(`at-least-once: ${tallied.doubled.length} records written twice after the SIGKILL`);
      }
    });
  }

  it("refuses a process that would run the replay with another model revision or delivery mode, naming the setting", async () => {
    const s = await setup();
    await produce(s.input, 0, 300);
    const args = ["--topic", s.input, "--from", "earliest", "--to", "now", "--rate", "40"];
    // A replay under way (stopped with its plan stored and half of it done)...
    // One SIGTERM only: a second one is "stop now", and one that lands while the process exits ends it by the signal.
    let signalled = false;
    const first = await runReplay(args, s.flags, (p, child) => {
      if (p.done >= 40 && !signalled) {
        signalled = true;
        child.kill("SIGTERM");
      }
    });
    assert.equal(first.code, 143, first.stderr);
    // ...refuses a process with another model, and one with another delivery mode.
    const otherModel = await runReplay(args, { ...s.flags, "model.variant": "int8" });
    assert.equal(otherModel.code, 78, otherModel.stderr);
    assert.match(otherModel.stderr, /model: replay \S+ began with model revision \S+, and this process loads \S+/);
    const otherDelivery = await runReplay(args, { ...s.flags, "kafka.delivery": "at-least-once" });
    assert.equal(otherDelivery.code, 78, otherDelivery.stderr);
    assert.match(
      otherDelivery.stderr,
      /kafka\.delivery: replay \S+ runs with kafka\.delivery exactly-once, and this process with at-least-once/,
    );
    // The same settings finish it.
    const same = await runReplay(args, s.flags);
    assertWholePlanDone(same, 300, [first, same]);
  });
});
