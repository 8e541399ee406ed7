/**
 * Hostile record headers against the worker (the CLI, a child process).
 *
 * A record of 30,000 empty headers between 20 good records and 20 more, all in one partition and
 * one fetch: kafkajs's own record decoder took minutes over it on the event loop, and the partition
 * gave nothing at all meanwhile. With ours every good record is tagged within seconds, the bomb is
 * one TOO_MANY_HEADERS dead letter without its headers, and the worker keeps its place in the group
 * throughout: one member id from its join to the end.
 *
 * Headers whose value is null (Kafka allows them): kafkajs's own encoder threw on them, so the dead
 * letter of such a record, or the event of one with a null `traceparent`, failed its transaction on
 * every retry and held the partition for good.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { IHeaders } from "kafkajs";
import { HEADERS } from "../../src/sinks/kafka/records.js";
import { tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import type { TestServices } from "../helpers/services.js";
import { eventIds, idCounts, spawnWorker, tally, workerSetup } from "../helpers/worker-setup.js";

const texts = tinyTexts();
const HEADER_COUNT = 30_000;
/** Time for the 40 good records and the dead letter: seconds are enough, kafkajs's own decoder took minutes. */
const DEADLINE_MS = 60_000;

let services: TestServices;
let client: KafkaTestClient;

openForFile((opened) => {
  ({ services, client } = opened);
});

const good = (i: number) => ({ key: `g-${i}`, value: JSON.stringify({ id: `g-${i}`, text: texts[i % texts.length] }) });

describe("hostile record headers", () => {
  it("30,000 headers: one dead letter; the good records around it are tagged and the worker never leaves its group", async (t) => {
    const s = await workerSetup(client, services, { partitions: 1 });
    const groupId = s.flags["kafka.groupId"] as string;
    // Names h0, h1, ...: kafkajs's decoder copies the object gathered so far once per name.
    const headers: IHeaders = Object.fromEntries(Array.from({ length: HEADER_COUNT }, (_, i) => [`h${i}`, ""]));
    const bomb = { key: "bomb", value: JSON.stringify({ id: "bomb", text: "many headers" }), headers };
    const goodIds = Array.from({ length: 40 }, (_, i) => `g-${i}`);
    // One send: one record batch, so the good records share the bomb's fetch.
    await client.produce(s.input, [
      ...goodIds.slice(0, 20).map((_, i) => good(i)),
      bomb,
      ...goodIds.slice(20).map((_, i) => good(20 + i)),
    ]);

    const started = Date.now();
    const worker = spawnWorker(s.flags);
    let stderr = "";
    worker.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Every member id the group shows while the worker runs: evicted (its event loop held past the
    // session timeout) and back, it would have a new one.
    const memberIds = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const [group] = (await client.admin.describeGroups([groupId]).catch(() => ({ groups: [] }))).groups;
        for (const member of group?.members ?? []) memberIds.add(member.memberId);
        await sleep(250);
      }
    })();
    let doneMs: number;
    try {
      await client.waitForGroupAtEnd(groupId, s.input, DEADLINE_MS);
      doneMs = Date.now() - started;
      // A little longer, for an eviction that would follow the work.
      await sleep(2000);
      const [group] = (await client.admin.describeGroups([groupId])).groups;
      assert.equal(group?.state, "Stable");
      assert.equal(group?.members.length, 1);
    } finally {
      watching = false;
      await watch;
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.kill("SIGTERM");
      // A worker whose event loop is held cannot run its SIGTERM handler.
      if ((await Promise.race([exited, sleep(15_000, "held")])) === "held") {
        worker.kill("SIGKILL");
        await exited;
      }
    }
    t.diagnostic(`all 41 records committed ${doneMs} ms after the worker started`);
    assert.equal(memberIds.size, 1, `member ids seen: ${[...memberIds].join(", ")}; stderr: ${stderr}`);

    const events = await client.readAll(s.output, { count: 40 });
    assert.deepEqual(tally(idCounts(events), goodIds), { doubled: [], missing: [] });
    assert.equal(events.length, 40);
    assert.ok(!eventIds(events).includes("bomb"));

    const letters = await client.readAll(s.dlq, { count: 1 });
    assert.equal(letters.length, 1);
    const letter = letters[0] as (typeof letters)[number];
    const header = (name: string) => letter.headers[name]?.toString();
    assert.deepEqual(
      [
        header(HEADERS.errorCode),
        header(HEADERS.sourceOffset),
        header(HEADERS.originalHeaderCount),
        header(HEADERS.truncated),
      ],
      ["TOO_MANY_HEADERS", "20", String(HEADER_COUNT), "headers"],
    );
    assert.equal(header("h0"), undefined, "the original headers stay behind");
    assert.equal(letter.key, "bomb");
    assert.equal(String(letter.value), bomb.value);
  });

  it("null header values: the records go through, the nulls kept in the dead letter", async () => {
    const s = await workerSetup(client, services, { partitions: 1 });
    await client.produce(s.input, [
      good(0),
      { key: "dead", value: "not json", headers: { "x-null": null as unknown as string, "x-app": "feed" } },
      { ...good(1), headers: { traceparent: null as unknown as string } },
      good(2),
    ]);
    const worker = spawnWorker(s.flags);
    try {
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, DEADLINE_MS);
    } finally {
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.kill("SIGTERM");
      await exited;
    }
    const events = await client.readAll(s.output, { count: 3 });
    assert.deepEqual(tally(idCounts(events), ["g-0", "g-1", "g-2"]), { doubled: [], missing: [] });
    const letters = await client.readAll(s.dlq, { count: 1 });
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.headers[HEADERS.errorCode]?.toString(), "INVALID_JSON");
    assert.equal(letters[0]?.headers["x-null"], null);
    assert.equal(letters[0]?.headers["x-app"]?.toString(), "feed");
  });
});
