/**
 * Routine faults that once lost, doubled or stalled messages, against the real broker and Redis:
 * a clean SIGTERM in at-least-once mode, a join the broker refuses, outputs larger than a topic
 * takes, and a transaction whose commit got no answer.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kafka, Producer, Transaction } from "kafkajs";
import { type Config, loadConfig } from "../../src/config/index.js";
import { CommitOutcomeUnknownError, ConfigError } from "../../src/errors/errors.js";
import { createTopics } from "../../src/kafka/topics.js";
import { startWorker } from "../../src/pipeline/worker.js";
import { ExactlyOnceSink } from "../../src/sinks/kafka/exactly-once-sink.js";
import { HEADERS } from "../../src/sinks/kafka/records.js";
import { REPO_ROOT, TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { closeIntegration, openIntegration } from "../helpers/integration.js";
import type { KafkaTestClient, ReadRecord } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import type { TestServices } from "../helpers/services.js";

const texts = tinyTexts();
const cli = join(REPO_ROOT, "dist/src/cli/main.js");

let services: TestServices;
let client: KafkaTestClient;

before(async () => {
  ({ services, client } = await openIntegration());
});
after(async () => {
  await closeIntegration({ services, client });
});

interface Setup {
  input: string;
  output: string;
  dlq: string;
  flags: Record<string, string>;
}

/** Topics (each with an optional `max.message.bytes`) and the worker's flags. */
async function setup(
  partitions: number,
  extra: Record<string, string> = {},
  maxMessageBytes: { input?: number; output?: number; dlq?: number } = {},
): Promise<Setup> {
  const configEntries = (bytes?: number) => (bytes ? [{ name: "max.message.bytes", value: String(bytes) }] : []);
  const [input, output, dlq] = [uniqueName("posts"), uniqueName("sentiment"), uniqueName("dead-letters")];
  await createTopics(client.admin, [
    { topic: input, numPartitions: partitions, configEntries: configEntries(maxMessageBytes.input) },
    { topic: output, numPartitions: 2, configEntries: configEntries(maxMessageBytes.output) },
    { topic: dlq, numPartitions: 1, configEntries: configEntries(maxMessageBytes.dlq) },
  ]);
  const flags = {
    "input.source": "kafka",
    "kafka.brokers": services.kafkaBrokers.join(","),
    "kafka.inputTopics": input,
    "kafka.outputTopic": output,
    "kafka.deadLetterTopic": dlq,
    "kafka.groupId": uniqueName("worker"),
    "kafka.sessionTimeoutMs": "10000",
    "kafka.heartbeatIntervalMs": "1000",
    "dedup.redisUrl": services.redisUrl,
    "dedup.keyPrefix": `${uniqueName("seen")}:`,
    "model.dir": TINY_MODEL_DIR,
    "runtime.intraOpThreads": "1",
    "batching.maxBatchSize": "8",
    "telemetry.httpPort": "0",
    "telemetry.logLevel": "warn",
    ...extra,
  };
  return { input, output, dlq, flags };
}

const configOf = (s: Setup, extra: Record<string, string> = {}): Config =>
  loadConfig({ env: {}, flags: { ...s.flags, ...extra } });

const post = (i: number) => ({
  key: `user-${i % 13}`,
  value: JSON.stringify({ id: `s-${i}`, text: texts[i % texts.length] }),
});

function spawnWorker(s: Setup): ChildProcess {
  const args = Object.entries(s.flags).flatMap(([k, v]) => [`--${k}`, v]);
  return spawn(process.execPath, [cli, "run", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env.PATH ?? "" },
  });
}

async function waitForRecords(topic: string, atLeast: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ends = await client.admin.fetchTopicOffsets(topic);
    if (ends.reduce((sum, e) => sum + Number(e.high), 0) >= atLeast) return;
    await sleep(100);
  }
  throw new Error(`fewer than ${atLeast} records reached ${topic}`);
}

function idCounts(records: ReadRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) {
    const { id } = JSON.parse(String(r.value)) as { id: string };
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe("the Kafka worker under routine faults", () => {
  it("commits every batch it finishes after SIGTERM (at-least-once): a restart repeats nothing", async () => {
    // De-duplication off, so a repeated output is not hidden by Redis.
    const s = await setup(4, { "kafka.delivery": "at-least-once", "dedup.enabled": "false" });
    const total = 6000;
    await client.produce(
      s.input,
      Array.from({ length: total }, (_, i) => post(i)),
    );
    const first = spawnWorker(s);
    await waitForRecords(s.output, 800);
    first.kill("SIGTERM");
    const code = await new Promise((r) => first.once("exit", r));
    assert.equal(code, 0);
    const second = spawnWorker(s);
    try {
      await client.waitForGroupAtEnd(s.flags["kafka.groupId"] as string, s.input, 120_000);
    } finally {
      second.kill("SIGTERM");
      await new Promise((r) => second.once("exit", r));
    }
    const counts = idCounts(await client.readAll(s.output, { count: total }));
    const doubled = [...counts].filter(([, n]) => n > 1).length;
    const missing = Array.from({ length: total }, (_, i) => `s-${i}`).filter((id) => !counts.has(id)).length;
    assert.deepEqual({ doubled, missing }, { doubled: 0, missing: 0 });
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
    // The first EndTxn never reaches the broker and fails as a dropped connection would: kafkajs's
    // producer is left half-way, where every later transaction() used to throw.
    const faulty = dropFirstCommit(client.kafka);
    const sink = new ExactlyOnceSink(faulty, {
      groupId,
      outputTopic: s.output,
      deadLetterTopic: s.dlq,
      transactionTimeoutMs: 30_000,
    });
    const output = (value: string, nextOffset: string) => ({
      topic: s.input,
      partition: 0,
      events: [{ value }],
      deadLetters: [],
      nextOffset,
      commitOffset: async () => {},
    });
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
});

/** The Kafka client, but the first transaction's commit is swallowed and fails like a dropped connection. */
function dropFirstCommit(kafka: Kafka): Kafka {
  let dropped = false;
  const transactionOf = (transaction: Transaction): Transaction =>
    new Proxy(transaction, {
      get(target, name, receiver) {
        if (name === "commit" && !dropped) {
          dropped = true;
          return async () => {
            const error = new Error("Connection closed") as Error & { retriable: boolean };
            error.retriable = true;
            throw error;
          };
        }
        const value = Reflect.get(target, name, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const producerOf = (producer: Producer): Producer =>
    new Proxy(producer, {
      get(target, name, receiver) {
        if (name === "transaction") return async () => transactionOf(await target.transaction());
        const value = Reflect.get(target, name, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(kafka, {
    get(target, name, receiver) {
      if (name === "producer") return (config: Parameters<Kafka["producer"]>[0]) => producerOf(target.producer(config));
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
