/** The replay's parts that need no broker: its arguments and identity, the plan metadata, progress, the rate limit. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { ConfigError } from "../../src/errors/errors.js";
import { ReplayProgress } from "../../src/replay/progress.js";
import { parsePlanMetadata, planMetadata, type ReplayPlan, refuseToJoin } from "../../src/replay/replay-plan.js";
import { parseReplaySpec, type ReplayArgs, replayGroupId } from "../../src/replay/replay-spec.js";
import { TokenBucket } from "../../src/replay/token-bucket.js";

const config = loadConfig({ env: {}, flags: { "kafka.brokers": "127.0.0.1:9092", "kafka.groupId": "tagger" } });
const spec = (args: ReplayArgs) => parseReplaySpec({ topic: "posts", from: "earliest", to: "now", ...args }, config);

describe("replay arguments", () => {
  it("reads times, offsets and the ends of the log, and names the replay by them", () => {
    const s = spec({ from: "2026-01-05T08:00:00Z", to: "1200", partitions: "2,0,2", rate: "50" });
    assert.deepEqual(s.from, { kind: "time", ms: Date.parse("2026-01-05T08:00:00Z") });
    assert.deepEqual(s.to, { kind: "offset", offset: 1200n });
    assert.deepEqual(s.partitions, [0, 2]);
    assert.equal(s.rate, 50);
    assert.equal(s.outputTopic, config.kafka.outputTopic);
    const group = replayGroupId("tagger", s);
    assert.match(group, /^tagger-replay-[0-9a-f]{12}$/);
    // The same replay however it is written; the rate is not part of it.
    assert.equal(
      replayGroupId("tagger", spec({ from: "2026-01-05T09:00:00+01:00", to: "1200", partitions: "0,2" })),
      group,
    );
    for (const other of [
      { from: "2026-01-05T08:00:01Z", to: "1200", partitions: "0,2" },
      { from: "2026-01-05T08:00:00Z", to: "now", partitions: "0,2" },
      { from: "2026-01-05T08:00:00Z", to: "1200" },
      { from: "2026-01-05T08:00:00Z", to: "1200", partitions: "0,2", retag: true },
      { from: "2026-01-05T08:00:00Z", to: "1200", partitions: "0,2", outputTopic: "elsewhere" },
    ]) {
      assert.notEqual(replayGroupId("tagger", spec(other)), group, JSON.stringify(other));
    }
  });

  it("reports every bad argument at once, naming the flag", () => {
    assert.throws(
      () => parseReplaySpec({ from: "yesterday", to: "earliest", partitions: "1,x", rate: "0" }, config),
      (e: unknown) =>
        e instanceof ConfigError &&
        ["--topic", "--from", "--to", "--partitions", "--rate"].every((path) =>
          e.problems.some((p) => p.path === path),
        ),
    );
    assert.throws(
      () => spec({ from: "2026-01-05T08:00:00Z", to: "2026-01-05T07:00:00Z" }),
      (e: unknown) => e instanceof ConfigError && e.problems[0]?.path === "--to",
    );
  });
});

describe("replay plan metadata", () => {
  it("round-trips, and ignores metadata that is not a replay's", () => {
    const plan: ReplayPlan = {
      topic: "posts",
      groupId: "g",
      id: "abc123",
      plannedAt: new Date("2026-01-05T08:00:00Z"),
      stored: false,
      modelRevision: undefined,
      delivery: undefined,
      partitions: [],
    };
    const text = planMetadata(
      plan,
      { partition: 1, start: 10n, end: 99n, position: 10n },
      { modelRevision: "sha256:ff", delivery: "exactly-once" },
    );
    assert.ok(text.length < 4096, "fits the broker's offset.metadata.max.bytes");
    assert.deepEqual(parsePlanMetadata(text), {
      id: "abc123",
      start: "10",
      end: "99",
      model: "sha256:ff",
      at: plan.plannedAt.getTime(),
      delivery: "exactly-once",
    });
    for (const other of [null, "", "something else", 'sw-replay/1 {"id":1}', "sw-replay/1 {"]) {
      assert.equal(parsePlanMetadata(other), undefined);
    }
  });
});

describe("replay plan shared by processes", () => {
  const stored: ReplayPlan = {
    topic: "posts",
    groupId: "g-replay-abc",
    id: "abc123",
    plannedAt: new Date("2026-01-05T08:00:00Z"),
    stored: true,
    modelRevision: "sha256:aa",
    delivery: "exactly-once",
    partitions: [],
  };
  const refusedFor = (run: { modelRevision: string; delivery: string }) => {
    try {
      refuseToJoin(stored, run);
      return undefined;
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems.map((p) => p.path);
    }
  };

  it("lets a process with the plan's model and delivery mode join, and names the setting that differs otherwise", () => {
    assert.equal(refusedFor({ modelRevision: "sha256:aa", delivery: "exactly-once" }), undefined);
    assert.deepEqual(refusedFor({ modelRevision: "sha256:bb", delivery: "exactly-once" }), ["model"]);
    assert.deepEqual(refusedFor({ modelRevision: "sha256:aa", delivery: "at-least-once" }), ["kafka.delivery"]);
    // A plan stored before the delivery mode was kept: any mode joins.
    refuseToJoin({ ...stored, delivery: undefined }, { modelRevision: "sha256:aa", delivery: "at-least-once" });
  });
});

describe("replay progress", () => {
  it("counts this process's share apart from the whole replay's", () => {
    const progress = new ReplayProgress([
      { partition: 0, start: 0n, end: 100n, position: 0n },
      { partition: 1, start: 0n, end: 100n, position: 0n },
    ]);
    progress.assigned([1]);
    progress.advance(0, 60n); // another process's commits, read from the group
    progress.advance(1, 30n);
    progress.ownCommit(1, 30n);
    const s = progress.snapshot();
    assert.equal(s.done, 90);
    assert.deepEqual(s.process, { done: 30, partitions: [1] });
    assert.deepEqual(s.slowest, { partition: 1, remaining: 70, percent: 30 });
  });

  it("counts offsets done of the plan, names the slowest partition, and says 100% only at the end", () => {
    const progress = new ReplayProgress([
      { partition: 0, start: 0n, end: 100n, position: 40n },
      { partition: 1, start: 50n, end: 50n, position: 50n },
      { partition: 2, start: 10n, end: 1010n, position: 10n },
    ]);
    let s = progress.snapshot();
    assert.deepEqual([s.done, s.total, s.partitionsDone, s.slowest?.partition], [40, 1100, 1, 2]);
    progress.advance(2, 1009n);
    progress.advance(0, 100n);
    s = progress.snapshot();
    assert.equal(s.done, 1099);
    assert.equal(s.percent, 99.9);
    assert.deepEqual(s.slowest, { partition: 2, remaining: 1, percent: 99.9 });
    progress.advance(2, 2000n);
    s = progress.snapshot();
    assert.deepEqual([s.done, s.percent, s.partitionsDone, s.etaSeconds, s.slowest], [1100, 100, 3, 0, undefined]);
  });
});

describe("replay rate limit", () => {
  it("admits a second's worth at once, then about `rate` records a second", async () => {
    const bucket = new TokenBucket(200);
    const keepAlive = async () => {};
    assert.equal(await bucket.admit(500, keepAlive, () => false), 200);
    const started = performance.now();
    let admitted = 0;
    while (admitted < 100) admitted += await bucket.admit(100 - admitted, keepAlive, () => false);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds > 0.35 && seconds < 1.5, `100 more records took ${seconds} s at 200/s`);
    assert.equal(await bucket.admit(10, keepAlive, () => true), 0, "a cancelled wait admits nothing");
  });
});
