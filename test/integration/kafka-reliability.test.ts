/**
 * Routine faults that once lost, doubled or stalled messages, against the real broker and Redis:
 * a clean SIGTERM in at-least-once mode, a join the broker refuses, outputs larger than a topic
 * takes, and a transaction whose commit got no answer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CommitOutcomeUnknownError, ConfigError } from "../../src/errors/errors.js";
import type { ProducerFactory, Transaction } from "../../src/kafka/client.js";
import { startWorker } from "../../src/pipeline/live-worker.js";
import { ExactlyOnceSink } from "../../src/sinks/kafka/exactly-once-sink.js";
import { HEADERS } from "../../src/sinks/kafka/records.js";
import { tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient, ReadRecord } from "../helpers/kafka.js";
import type { TestServices } from "../helpers/services.js";
import {
  configOf,
  eventOutput,
  exactlyOnceSinkOptions,
  idCounts,
  type SetupOptions,
  spawnWorker,
  tally,
  waitForRecords,
  workerSetup,
} from "../helpers/worker-setup.js";

const texts = tinyTexts();

let services: TestServices;
let client: KafkaTestClient;

openForFile((opened) => {
  ({ services, client } = opened);
});

const setup = (
  partitions: number,
  flags: Record<string, string> = {},
  maxMessageBytes: SetupOptions["maxMessageBytes"] = {},
) => workerSetup(client, services, { partitions, flags, maxMessageBytes, outputPartitions: 2 });

const post = (i: number) => ({
  key: `user-${i % 13}`,
  value: JSON.stringify({ id: `s-${i}`, text: texts[i % texts.length] }),
});

describe("the Kafka worker under routine faults", () => {
  it("commits every batch it finishes after SIGTERM (at-least-once): a restart repeats nothing", async () => {
    // De-duplication off, so a repeated output is not hidden by Redis.
    const s = await setup(4, { "kafka.delivery": "at-least-once", "dedup.enabled": "false" });
    const total = 6000;
    await client.produce(
      s.input,
      Array.from({ length: total }, (_, i) => post(i)),
    );
    const first = spawnWorker(s.flags);
    await waitForRecords(client, s.output, 800);
    first.kill("SIGTERM");
    const code = await new Promise((r) => first.once("exit", r));
    assert.equal(code, 0);
    const second = spawnWorker(s.flags);
    try {
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 120_000);
    } finally {
      second.kill("SIGTERM");
      await new Promise((r) => second.once("exit", r));
    }
    const counts = idCounts(await client.readAll(s.output, { count: total }));
    const { doubled, missing } = tally(
      counts,
      Array.from({ length: total }, (_, i) => `s-${i}`),
    );
    assert.deepEqual({ doubled: doubled.length, missing: missing.length }, { doubled: 0, missing: 0 });
  });

  it("stops start-up with the setting named when the broker refuses the join", async () => {
    const s = await setup(1);
    const config = configOf(s);
    // Below the broker's group.min.session.timeout.ms; the schema refuses it, so set it behind its back.
    config.kafka.sessionTimeoutMs = 3000;
    const started = startWorker(config);
    const outcome = await Promise.race([
      started.then(
        async (worker) => {
          await worker.stop();
          return "started";
        },
        (error: unknown) => error,
      ),
      sleep(45_000, "still starting"),
    ]);
    assert.ok(outcome instanceof ConfigError, `expected a ConfigError, got ${String(outcome)}`);
    assert.match(outcome.message, /kafka\.sessionTimeoutMs/);
  });

  it("stops start-up naming kafka.inputTopics when an input topic does not exist, also with createTopics", async () => {
    const s = await setup(1);
    const config = configOf(s);
    config.kafka.inputTopics = [s.input, `${s.input}-missing`];
    config.kafka.createTopics = true;
    await assert.rejects(
      startWorker(config),
      (e: unknown) =>
        e instanceof ConfigError && /kafka\.inputTopics/.test(e.message) && e.message.includes(`${s.input}-missing`),
    );
    const topics = await client.admin.listTopics();
    assert.ok(!topics.includes(`${s.input}-missing`), "an input topic is never created");
  });

  it("keeps the partition moving when outputs exceed the topics' max.message.bytes", async () => {
    // The output topic takes 20 KB; the dead-letter topic Kafka's default (1 MiB).
    const limit = 1_048_588;
    const s = await setup(
      1,
      { "input.passthrough": "true", "input.maxTextBytes": "30000" },
      {
        input: 2_000_000,
        output: 20_000,
      },
    );
    const big = "sehr gut ".repeat(2200); // 19.8 KB: fits the topics, but its event (input copied) does not
    const huge = "x".repeat(1_200_000); // over maxTextBytes, and its dead letter over the limit
    const records = [
      post(0),
      { key: "k", value: JSON.stringify({ id: "big", text: big }) },
      post(1),
      { key: "k", value: JSON.stringify({ id: "huge", text: huge }) },
      post(2),
    ];
    await client.produce(s.input, records);
    const worker = await startWorker(configOf(s));
    try {
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 60_000);
    } finally {
      await worker.stop();
    }
    const events = await client.readAll(s.output, { count: 3 });
    assert.deepEqual([...idCounts(events).keys()].sort(), ["s-0", "s-1", "s-2"]);
    const letters = await client.readAll(s.dlq, { count: 2 });
    const byCode = new Map(letters.map((l) => [String(l.headers[HEADERS.errorCode]), l]));
    assert.deepEqual([...byCode.keys()].sort(), ["OUTPUT_TOO_LARGE", "TOO_LARGE"]);
    // The event was too big, the record itself was not: its dead letter carries it whole.
    assert.equal(String(byCode.get("OUTPUT_TOO_LARGE")?.value), records[1]?.value);
    const cut = byCode.get("TOO_LARGE") as ReadRecord;
    assert.equal(String(cut.headers[HEADERS.truncated]), "value");
    assert.equal(String(cut.headers[HEADERS.originalValueBytes]), String(Buffer.byteLength(records[3]?.value ?? "")));
    assert.ok((cut.value?.length ?? 0) < limit && (cut.value?.length ?? 0) > limit / 2);
  });

  it("recovers a transaction whose commit got no answer: the producer is replaced, the outcome read from the offset", async () => {
    const s = await setup(1);
    const groupId = s.flags["kafka.groupId"] as string;
    // The first EndTxn never reaches the broker and fails as a dropped connection would: the
    // producer is left half-way, where every later transaction() used to throw.
    const faulty = dropFirstCommit(client.client);
    const sink = new ExactlyOnceSink(faulty, exactlyOnceSinkOptions(s));
    const output = (value: string, nextOffset: string) => eventOutput(s, value, nextOffset);
    try {
      await sink.acquire(s.input, 0);
      await assert.rejects(sink.commit(output("lost", "1")), (e: unknown) => e instanceof CommitOutcomeUnknownError);
      // What the pipeline does next: fence again (which ends the open transaction), read the offset.
      await sink.acquire(s.input, 0);
      const [before] = await client.admin.fetchOffsets({ groupId, topics: [s.input] });
      assert.equal(before?.partitions[0]?.offset, "-1");
      await sink.commit(output("kept", "1"));
    } finally {
      await sink.close();
    }
    const out = await client.readAll(s.output, { count: 1 });
    assert.deepEqual(
      out.map((r) => String(r.value)),
      ["kept"],
    );
    const [committed] = await client.admin.fetchOffsets({ groupId, topics: [s.input] });
    assert.equal(committed?.partitions[0]?.offset, "1");
  });

  it("a sweep aborts what the partition's transactional id left open, shows nothing and moves no offset", async () => {
    const s = await setup(1);
    const groupId = s.flags["kafka.groupId"] as string;
    const sink = new ExactlyOnceSink(client.client, {
      ...exactlyOnceSinkOptions(s),
      outputPartitions: async () => [
        { topic: s.output, partitions: [0, 1] },
        { topic: s.dlq, partitions: [0] },
      ],
    });
    // An earlier owner's transaction left open with records in both output partitions.
    const earlier = await client.client.transactionalProducer({
      transactionalId: `${groupId}-${s.input}-0`,
      transactionTimeoutMs: 60_000,
    });
    const open = await earlier.transaction();
    await open.send([{ topic: s.output, messages: [0, 1].map((partition) => ({ value: "left open", partition })) }]);
    try {
      await sink.acquire(s.input, 0);
      await sink.sweep(s.input, 0, "0");
      await sink.commit(eventOutput(s, "kept", "1"));
    } finally {
      await sink.close();
      await earlier.disconnect();
    }
    const out = await client.readAll(s.output, { count: 1 });
    assert.deepEqual(
      out.map((r) => String(r.value)),
      ["kept"],
    );
    assert.deepEqual(await client.readAll(s.dlq, { count: 0, quietMs: 1000, timeoutMs: 5000 }), []);
    const [committed] = await client.admin.fetchOffsets({ groupId, topics: [s.input] });
    assert.equal(committed?.partitions[0]?.offset, "1");
  });

  it("reads a transaction whose commit happened but whose answer was lost as committed, once fenced again", async () => {
    const s = await setup(1);
    const groupId = s.flags["kafka.groupId"] as string;
    const sink = new ExactlyOnceSink(dropFirstCommit(client.client, "answer"), exactlyOnceSinkOptions(s));
    try {
      await sink.acquire(s.input, 0);
      await assert.rejects(
        sink.commit(eventOutput(s, "committed", "1")),
        (e: unknown) => e instanceof CommitOutcomeUnknownError,
      );
      // What the pipeline does next: fence again, then read the offset, which must say "committed".
      await sink.acquire(s.input, 0);
      const [after] = await client.admin.fetchOffsets({ groupId, topics: [s.input] });
      assert.equal(after?.partitions[0]?.offset, "1");
    } finally {
      await sink.close();
    }
    const out = await client.readAll(s.output, { count: 1 });
    assert.deepEqual(
      out.map((r) => String(r.value)),
      ["committed"],
    );
  });
});

/**
 * The client's producers, but the first transaction's commit fails like a dropped connection:
 * before the EndTxn reaches the broker ("request"), or after the broker committed and before its
 * answer arrived ("answer").
 */
function dropFirstCommit(producers: ProducerFactory, lost: "request" | "answer" = "request"): ProducerFactory {
  let dropped = false;
  const transactionOf = (transaction: Transaction): Transaction => ({
    ...transaction,
    commit: async () => {
      if (dropped) return transaction.commit();
      dropped = true;
      if (lost === "answer") await transaction.commit();
      const error = new Error("Connection closed") as Error & { retriable: boolean };
      error.retriable = true;
      throw error;
    },
  });
  return {
    producer: () => producers.producer(),
    transactionalProducer: async (options) => {
      const producer = await producers.transactionalProducer(options);
      return { ...producer, transaction: async () => transactionOf(await producer.transaction()) };
    },
  };
}
