/**
 * The Kafka sources on a fake group member (the client contract of src/kafka/client.ts): how the
 * group source and the replay reader cut fetches into chunks, move the read position, stop at a
 * rebalance, explain a refused join, and keep a replay inside its range. No broker.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ChunkHandler, PartitionChunk } from "../../src/consumers/chunk-source.js";
import { GroupSource } from "../../src/consumers/group-source.js";
import { type Admission, ReplaySource } from "../../src/consumers/replay-source.js";
import { ConfigError, GroupJoinError } from "../../src/errors/errors.js";
import { backoffDelay, retry } from "../../src/errors/retry.js";
import type {
  ConsumedRecord,
  FetchedBatch,
  GroupMember,
  GroupOffset,
  MemberHandlers,
  TopicPartition,
} from "../../src/kafka/client.js";

/** A group member driven by the test: it joins, fetches and crashes when told to. */
class FakeMember implements GroupMember {
  handlers: MemberHandlers | undefined;
  readonly resolved: string[] = [];
  readonly paused: number[] = [];
  readonly seeks: string[] = [];
  readonly commits: GroupOffset[][] = [];
  committed: GroupOffset[] = [];
  disconnected = false;
  stale = false;
  heartbeats = 0;

  async run(_: unknown, handlers: MemberHandlers): Promise<void> {
    this.handlers = handlers;
  }
  pause(_: string, partitions: number[]): void {
    this.paused.push(...partitions);
  }
  seek(_: TopicPartition, offset: string): void {
    this.seeks.push(offset);
  }
  async commitOffsets(offsets: GroupOffset[]): Promise<void> {
    this.commits.push(offsets);
  }
  async disconnect(): Promise<void> {
    this.disconnected = true;
    this.handlers?.stopped();
  }

  join(assigned: TopicPartition[]): void {
    this.handlers?.joined(assigned);
  }

  /** Hands the source a fetch of these offsets (and waits until it returns, as the client does). */
  fetch(topic: string, offsets: number[], lastOffset = offsets[offsets.length - 1] ?? 0): Promise<void> {
    const records: ConsumedRecord[] = offsets.map((offset) => ({
      offset: String(offset),
      key: null,
      value: Buffer.from(`{"id":"${offset}","text":"t"}`),
      timestamp: "0",
    }));
    const batch: FetchedBatch = {
      topic,
      partition: 0,
      records,
      highWatermark: String(lastOffset + 1),
      lastOffset: () => String(lastOffset),
      heartbeat: async () => {
        this.heartbeats++;
      },
      isStale: () => this.stale,
      isRunning: () => !this.disconnected,
      resolveOffset: (offset) => this.resolved.push(offset),
      commitOffset: async () => {},
    };
    return this.handlers?.batch(batch) ?? Promise.resolve();
  }
}

/** The group's committed offsets, and the topic's partition 0 beginning at `logStart()`. */
const admin = (offsets: GroupOffset[] = [], logStart = () => 0n) => ({
  committedOffsets: async () => offsets,
  partitionEnds: async () => [{ partition: 0, low: String(logStart()), high: "1000" }],
});

/** Records each batch's offsets, answering with `outcomes` in turn (then `processed`). */
function recorder(outcomes: Array<"processed" | "abandoned"> = []) {
  const batches: string[][] = [];
  const nextOffsets: string[] = [];
  const assignments: TopicPartition[][] = [];
  const handler: ChunkHandler = {
    onAssignment: (assigned) => assignments.push(assigned),
    handle: async (batch: PartitionChunk) => {
      batches.push(batch.messages.map((m) => m.offset));
      nextOffsets.push(batch.nextOffset);
      return outcomes.shift() ?? "processed";
    },
  };
  return { handler, batches, nextOffsets, assignments };
}

const groupOptions = {
  groupId: "g",
  topics: ["posts"],
  concurrency: 2,
  chunkRecords: () => 3,
  fromBeginning: true,
  drainTimeoutMs: 1000,
  heartbeatIntervalMs: 3000,
  sessionTimeoutMs: 30_000,
};

async function startedGroup(outcomes?: Array<"processed" | "abandoned">) {
  const member = new FakeMember();
  const source = new GroupSource(member, admin(), groupOptions);
  const seen = recorder(outcomes);
  const started = source.start(seen.handler);
  await Promise.resolve();
  member.join([{ topic: "posts", partition: 0 }]);
  await started;
  return { member, source, ...seen };
}

/**
 * A pipeline that claims at once and finishes each chunk when the test says, noting what it was
 * handed and what each chunk was told of the one before.
 */
function heldPipeline() {
  const handed: string[] = [];
  const finish = new Map<string, (outcome: "processed" | "abandoned" | Error) => void>();
  const previous = new Map<string, Promise<boolean> | undefined>();
  const handler: ChunkHandler = {
    onAssignment: () => {},
    handle: (chunk) => {
      const first = chunk.messages[0]?.offset as string;
      handed.push(first);
      previous.set(first, chunk.previous);
      chunk.claimed?.();
      return new Promise((resolve, reject) =>
        finish.set(first, (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome))),
      );
    },
  };
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
  return { handler, handed, finish, previous, tick };
}

describe("the group source", () => {
  it("hands a fetch over in chunks of chunkRecords, each with its next offset, and moves the read position after each", async () => {
    const { member, source, batches, nextOffsets, assignments } = await startedGroup();
    assert.ok(source.inGroup);
    assert.deepEqual(assignments, [[{ topic: "posts", partition: 0 }]]);
    await member.fetch("posts", [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(batches, [["0", "1", "2"], ["3", "4", "5"], ["6"]]);
    assert.deepEqual(nextOffsets, ["3", "6", "7"]);
    assert.deepEqual(member.resolved, ["2", "5", "6"]);
  });

  it("beats while the pipeline works on a chunk, and between chunks, and no more after", async () => {
    const member = new FakeMember();
    const source = new GroupSource(member, admin(), { ...groupOptions, heartbeatIntervalMs: 10 });
    const started = source.start({
      onAssignment: () => {},
      handle: async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return "processed";
      },
    });
    await Promise.resolve();
    member.join([{ topic: "posts", partition: 0 }]);
    await started;
    await member.fetch("posts", [0, 1, 2, 3]);
    const beats = member.heartbeats;
    // Two chunks of about 100 ms each at one beat per 10 ms, and one beat between them.
    assert.ok(beats >= 10, `${beats} heartbeats`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(member.heartbeats, beats);
  });

  it("stops a fetch at an abandoned chunk, so the next fetch starts with it", async () => {
    const { member, batches } = await startedGroup(["processed", "abandoned"]);
    await member.fetch("posts", [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(batches, [
      ["0", "1", "2"],
      ["3", "4", "5"],
    ]);
    assert.deepEqual(member.resolved, ["2"]);
  });

  async function heldGroup(chunksInFlight: number) {
    const member = new FakeMember();
    const source = new GroupSource(member, admin(), { ...groupOptions, chunksInFlight });
    const held = heldPipeline();
    const started = source.start(held.handler);
    await Promise.resolve();
    member.join([{ topic: "posts", partition: 0 }]);
    await started;
    return { member, ...held };
  }

  it("with two chunks in flight, hands out the next once the one before claimed, and moves the read position in order", async () => {
    const { member, handed, finish, previous, tick } = await heldGroup(2);
    const fetched = member.fetch("posts", [0, 1, 2, 3, 4, 5, 6]);
    await tick();
    assert.deepEqual(handed, ["0", "3"], "the second chunk is handed out while the first is in flight");
    assert.equal(previous.get("0"), undefined);
    assert.ok(previous.get("3"), "the second is told of the first");
    finish.get("3")?.("processed");
    await tick();
    assert.deepEqual(member.resolved, [], "nothing resolved before the first chunk");
    finish.get("0")?.("processed");
    assert.equal(await previous.get("3"), true);
    await tick();
    assert.deepEqual(member.resolved, ["2", "5"]);
    assert.deepEqual(handed, ["0", "3", "6"]);
    finish.get("6")?.("processed");
    await fetched;
    assert.deepEqual(member.resolved, ["2", "5", "6"]);
  });

  it("with one chunk in flight, hands out the next only once the one before ended", async () => {
    const { member, handed, finish, previous, tick } = await heldGroup(1);
    const fetched = member.fetch("posts", [0, 1, 2, 3, 4, 5]);
    await tick();
    assert.deepEqual(handed, ["0"]);
    finish.get("0")?.("processed");
    await tick();
    assert.deepEqual(handed, ["0", "3"]);
    assert.equal(previous.get("3"), undefined);
    finish.get("3")?.("processed");
    await fetched;
    assert.deepEqual(member.resolved, ["2", "5"]);
  });

  it("with two in flight, a chunk not committed ends the fetch: the one behind is told, the read position stays after the last committed", async () => {
    const { member, handed, finish, previous, tick } = await heldGroup(2);
    const fetched = member.fetch("posts", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await tick();
    finish.get("0")?.("processed");
    await tick();
    assert.deepEqual(handed, ["0", "3", "6"]);
    finish.get("3")?.("abandoned");
    assert.equal(await previous.get("6"), false);
    await tick();
    assert.deepEqual(handed, ["0", "3", "6"], "no chunk handed out after one not committed");
    let done = false;
    void fetched.then(() => {
      done = true;
    });
    await tick();
    assert.equal(done, false, "the fetch waits for the chunk still in flight");
    finish.get("6")?.("abandoned");
    await fetched;
    assert.deepEqual(member.resolved, ["2"]);
  });

  it("with two in flight, a chunk's error goes up once the one behind it ended, after the commits before it", async () => {
    const { member, finish, previous, tick } = await heldGroup(2);
    const fetched = member.fetch("posts", [0, 1, 2, 3, 4, 5]);
    fetched.catch(() => {});
    await tick();
    finish.get("0")?.(new Error("the transaction failed"));
    assert.equal(await previous.get("3"), false);
    finish.get("3")?.("abandoned");
    await assert.rejects(fetched, /the transaction failed/);
    assert.deepEqual(member.resolved, []);
  });

  it("hands out no new chunk once a rebalance began, and none of a fetch a seek made stale", async () => {
    const { member, batches } = await startedGroup();
    member.handlers?.rebalancing();
    await member.fetch("posts", [0, 1, 2, 3]);
    assert.deepEqual(batches, []);
    member.join([{ topic: "posts", partition: 0 }]);
    member.stale = true;
    await member.fetch("posts", [0, 1, 2, 3]);
    assert.deepEqual(batches, []);
  });

  it("reads the group's committed offset, and none as undefined", async () => {
    const source = new GroupSource(
      new FakeMember(),
      admin([{ topic: "posts", partition: 1, offset: "42" }]),
      groupOptions,
    );
    assert.equal(await source.committedOffset({ topic: "posts", partition: 1 }), "42");
    assert.equal(await source.committedOffset({ topic: "posts", partition: 0 }), undefined);
    const none = new GroupSource(
      new FakeMember(),
      admin([{ topic: "posts", partition: 0, offset: "-1" }]),
      groupOptions,
    );
    assert.equal(await none.committedOffset({ topic: "posts", partition: 0 }), undefined);
  });

  it("fails start-up with the setting to fix when the broker refuses the join", async () => {
    const member = new FakeMember();
    const source = new GroupSource(member, admin(), groupOptions);
    const started = source.start(recorder().handler);
    await Promise.resolve();
    const refused = Object.assign(new Error("The session timeout is not within the range"), {
      type: "INVALID_SESSION_TIMEOUT",
    });
    member.handlers?.crashed(refused, false);
    await assert.rejects(
      started,
      (e: unknown) => e instanceof ConfigError && /kafka\.sessionTimeoutMs/.test(e.message),
    );
    await assert.rejects(source.failed, ConfigError);
  });

  it("takes a crash it recovers from in its stride, and one while stopping as the end", async () => {
    const logged: string[] = [];
    const member = new FakeMember();
    const source = new GroupSource(member, admin(), { ...groupOptions, log: (message) => logged.push(message) });
    const started = source.start(recorder().handler);
    await Promise.resolve();
    member.handlers?.crashed(new Error("Connection closed"), true);
    member.handlers?.crashed(new Error("Connection closed"), true);
    assert.equal(logged.length, 1, "one line per distinct reason");
    member.join([{ topic: "posts", partition: 0 }]);
    await started;
    await source.stop();
    member.handlers?.crashed(new Error("gone"), false);
    const settled = await Promise.race([
      source.failed.then(
        () => "failed",
        () => "failed",
      ),
      Promise.resolve("alive"),
    ]);
    assert.equal(settled, "alive");
    assert.ok(member.disconnected);
  });

  it("explains an unknown refusal as a GroupJoinError with its cause", async () => {
    const member = new FakeMember();
    const source = new GroupSource(member, admin(), groupOptions);
    const started = source.start(recorder().handler);
    await Promise.resolve();
    member.handlers?.crashed(new Error("something else"), false);
    await assert.rejects(started, GroupJoinError);
  });
});

describe("the replay reader", () => {
  const range = (start: number, end: number, position = start) => ({
    partition: 0,
    start: BigInt(start),
    end: BigInt(end),
    position: BigInt(position),
    metadata: "plan",
  });

  /** A replay reader on `ranges`; `group` holds the group's committed positions its watch reads. */
  async function startedReplay(
    ranges: ReturnType<typeof range>[],
    options: {
      assigned?: number[];
      group?: Map<number, bigint>;
      committed?: () => Promise<Map<number, bigint>>;
      handler?: ChunkHandler;
      chunksInFlight?: number;
      admission?: Admission;
      logStart?: () => bigint;
    } = {},
  ) {
    const member = new FakeMember();
    const positions: bigint[] = [];
    const own: bigint[] = [];
    const deleted: string[] = [];
    const group = options.group ?? new Map<number, bigint>();
    const source = new ReplaySource(member, admin([], options.logStart), {
      groupId: "g-replay",
      topic: "posts",
      plan: async () => ranges,
      committed: options.committed ?? (async () => group),
      watchIntervalMs: 5,
      concurrency: 1,
      chunkRecords: () => 2,
      drainTimeoutMs: 1000,
      heartbeatIntervalMs: 3000,
      onPosition: (_, position) => positions.push(position),
      onOwnCommit: (_, offsets) => own.push(offsets),
      chunksInFlight: options.chunksInFlight,
      admission: options.admission,
      onDeleted: (partition, from, to) => deleted.push(`${partition}:${from}-${to}`),
    });
    const seen = recorder();
    const started = source.start(options.handler ?? seen.handler);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    member.join((options.assigned ?? [0]).map((partition) => ({ topic: "posts", partition })));
    await started;
    return { member, source, positions, own, group, deleted, ...seen };
  }

  /** The replay finished, having reported `span` deleted and committed the range's `end` as such, alone. */
  async function assertEndedGone(
    { member, source, deleted }: { member: FakeMember; source: ReplaySource; deleted: string[] },
    span: string,
    end: string,
  ): Promise<void> {
    await source.finished;
    assert.deepEqual(deleted, [span]);
    assert.deepEqual(
      member.commits.map((c) => c.map((o) => o.offset)),
      [[end]],
    );
  }

  it("says which offsets of its range the log lost before a resumed run read them, once, and reads on from the log's start", async () => {
    const { member, batches, deleted } = await startedReplay([range(2, 12, 4)], { logStart: () => 7n });
    assert.deepEqual(deleted, ["0:4-7"]);
    // The client, finding offset 4 gone, reads on from the log's start by itself.
    await member.fetch("posts", [7, 8]);
    assert.deepEqual(batches, [["7", "8"]]);
    assert.deepEqual(deleted, ["0:4-7"], "reported once");
  });

  it("tells records deleted while it runs from transaction markers: only the log's start moving counts", async () => {
    let logStart = 0n;
    const { member, batches, deleted } = await startedReplay([range(0, 40)], { logStart: () => logStart });
    await member.fetch("posts", [0, 1]);
    // Offset 2 a transaction marker: a gap, but the log still begins at 0.
    await member.fetch("posts", [3, 4]);
    assert.deepEqual(deleted, []);
    // The reader fell behind the retention: the next fetch begins at the new log start.
    logStart = 20n;
    await member.fetch("posts", [20, 21]);
    assert.deepEqual(batches, [
      ["0", "1"],
      ["3", "4"],
      ["20", "21"],
    ]);
    assert.deepEqual(deleted, ["0:5-20"]);
  });

  it("ends a range the log lost entirely while it ran, on a partition that gets nothing newer (so no fetch comes)", async () => {
    let logStart = 0n;
    const group = new Map<number, bigint>();
    const { member, source, deleted } = await startedReplay([range(0, 10)], { logStart: () => logStart, group });
    await member.fetch("posts", [0, 1, 2, 3]);
    group.set(0, 4n);
    await sleep(30);
    assert.equal(member.commits.length, 0, "the log still holds the rest");
    logStart = 12n;
    await assertEndedGone({ member, source, deleted }, "0:4-10", "10");
  });

  it("ends a range the log lost entirely (no fetch would reach its end): committed as ended, finished", async () => {
    const started = await startedReplay([range(2, 6, 3)], { logStart: () => 9n });
    await assertEndedGone(started, "0:3-6", "6");
  });

  it("hands over only the range, counts its own share, and finishes at its end", async () => {
    const { member, source, batches, positions, own } = await startedReplay([range(2, 6)]);
    await member.fetch("posts", [2, 3, 4, 5, 6, 7]);
    assert.deepEqual(batches, [
      ["2", "3"],
      ["4", "5"],
    ]);
    assert.deepEqual(positions, [4n, 6n]);
    assert.deepEqual(own, [2n, 2n]);
    assert.deepEqual(member.commits, [], "the pipeline commits the chunks, not the reader");
    assert.ok(source.isFinished);
    await source.finished;
    assert.deepEqual(member.paused, [0]);
  });

  it("with two chunks in flight, hands out the next once the one before claimed, and counts progress in offset order", async () => {
    const held = heldPipeline();
    const { member, source, positions, own } = await startedReplay([range(2, 8)], {
      handler: held.handler,
      chunksInFlight: 2,
    });
    const fetched = member.fetch("posts", [2, 3, 4, 5, 6, 7, 8]);
    await held.tick();
    assert.deepEqual(held.handed, ["2", "4"]);
    held.finish.get("4")?.("processed");
    await held.tick();
    assert.deepEqual(positions, [], "no progress before the first chunk is committed");
    held.finish.get("2")?.("processed");
    await held.tick();
    assert.deepEqual(positions, [4n, 6n]);
    assert.deepEqual(held.handed, ["2", "4", "6"]);
    held.finish.get("6")?.("processed");
    await fetched;
    assert.deepEqual(positions, [4n, 6n, 8n]);
    assert.deepEqual(own, [2n, 2n, 2n]);
    assert.ok(source.isFinished);
  });

  it("with two in flight, a next chunk that cannot be cut fails the fetch only once the chunk in flight ended and was counted", async () => {
    const held = heldPipeline();
    let asked = 0;
    const admission: Admission = {
      admit: async (wanted) => {
        if (++asked === 2) throw new Error("the rate limit broke");
        return wanted;
      },
    };
    const { member, positions } = await startedReplay([range(2, 8)], {
      handler: held.handler,
      chunksInFlight: 2,
      admission,
    });
    const fetched = member.fetch("posts", [2, 3, 4, 5, 6, 7]);
    fetched.catch(() => {});
    await held.tick();
    assert.deepEqual(held.handed, ["2"]);
    let settled = false;
    void fetched.then(
      () => {},
      () => {
        settled = true;
      },
    );
    await held.tick();
    assert.equal(settled, false, "the fetch waits for the chunk in flight");
    held.finish.get("2")?.("processed");
    await assert.rejects(fetched, /the rate limit broke/);
    assert.deepEqual(positions, [4n]);
    assert.deepEqual(member.resolved, ["3"]);
  });

  it("goes to the range when a fetch starts before it, and skips ahead of the committed offset", async () => {
    const { member, batches } = await startedReplay([range(5, 10, 7)]);
    await member.fetch("posts", [0, 1]);
    await member.fetch("posts", [6, 7]);
    assert.deepEqual(member.seeks, ["5", "7"]);
    assert.deepEqual(batches, []);
  });

  it("commits the end of a range whose last offsets are only markers or aborted records", async () => {
    const { member, source, positions } = await startedReplay([range(0, 4, 2)]);
    member.handlers?.skipped({ topic: "posts", partition: 0 }, "3");
    await source.finished;
    assert.deepEqual(member.commits, [[{ topic: "posts", partition: 0, offset: "4", metadata: "plan" }]]);
    assert.deepEqual(positions, [4n]);
  });

  it("shares the plan: reads only the partitions it was given, and finishes once the group's commits put every partition at its end", async () => {
    const { member, source, positions, group } = await startedReplay([range(0, 4), { ...range(0, 4), partition: 1 }], {
      assigned: [0],
    });
    await member.fetch("posts", [0, 1, 2, 3]);
    let settled = false;
    void source.finished.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(settled, false, "partition 1 (another process's) is not done yet");
    group.set(1, 3n);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(settled, false);
    group.set(1, 4n);
    await source.finished;
    assert.deepEqual(positions, [2n, 4n, 3n, 4n]);
  });

  it("takes over a partition another process finished but whose end it cannot fetch", async () => {
    const group = new Map([[0, 4n]]);
    const { source } = await startedReplay([range(0, 4)], { group });
    await source.finished;
  });

  it("fails when the replay cannot go on (its stored plan changed)", async () => {
    const { source } = await startedReplay([range(0, 4)], {
      committed: async () => {
        throw new Error("replay g-replay has another plan now");
      },
    });
    await assert.rejects(source.finished, /another plan now/);
  });
});

describe("retry", () => {
  it("backs off exponentially up to the ceiling, with jitter below each step", () => {
    const backoff = { initialMs: 100, maxMs: 1000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => backoffDelay(n, backoff, () => 0)),
      [100, 200, 400, 800, 1000],
    );
    assert.deepEqual(
      [1, 2, 5].map((n) => backoffDelay(n, backoff, () => 1)),
      [50, 100, 500],
    );
  });

  it("retries what is worth it, up to the attempts, and gives up at once on the rest", async () => {
    let calls = 0;
    const retriable = Object.assign(new Error("later"), { retriable: true });
    const ok = await retry(
      async () => {
        if (++calls < 3) throw retriable;
        return "done";
      },
      {
        attempts: 5,
        backoff: { initialMs: 1, maxMs: 2 },
        retryIf: (e) => (e as { retriable?: boolean }).retriable === true,
      },
    );
    assert.deepEqual([ok, calls], ["done", 3]);
    calls = 0;
    await assert.rejects(
      retry(
        async () => {
          calls++;
          throw new Error("never");
        },
        { attempts: 5, backoff: { initialMs: 1, maxMs: 2 }, retryIf: () => false },
      ),
      /never/,
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(
      retry(
        async () => {
          calls++;
          throw retriable;
        },
        { attempts: 3, backoff: { initialMs: 1, maxMs: 2 } },
      ),
    );
    assert.equal(calls, 3);
  });
});
