/**
 * Hostile records between good ones on three partitions: 64-bit number ids, binary garbage,
 * 100,000 brackets, 200 KB of headers, a 300 KB key, a tombstone, control characters and lone
 * surrogates, a record time of 9e15 ms, an oversized text, a 2,000-byte id, empty text, JSON that
 * is not an object. Each gives exactly one event (with the exact id) or one dead letter (with the
 * expected code), the tombstone neither; every good neighbour is tagged, and the worker (in-process)
 * never gives up. Exactly-once with ids from the value, and at-least-once with ids from the key.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import type { IHeaders } from "kafkajs";
import { loadConfig } from "../../src/config/index.js";
import { createTopics } from "../../src/kafka/topics.js";
import { startWorker } from "../../src/pipeline/live-worker.js";
import { HEADERS } from "../../src/sinks/kafka/records.js";
import { readCommittedExactly } from "../helpers/chaos-read.js";
import { tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import type { TestServices } from "../helpers/services.js";
import { workerFlags } from "../helpers/worker-setup.js";

const texts = tinyTexts();
const PARTITIONS = 3;
const MAX_TEXT_BYTES = 65_536;
const sha256 = (s: string | Buffer) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

let services: TestServices;
let client: KafkaTestClient;

openForFile((opened) => {
  ({ services, client } = opened);
});

interface Case {
  name: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
  timestamp?: string;
  /** `event:<id>`, `dead:<code>` or `none` (tombstone); a function when it depends on `idFromKey`. */
  expect: string | ((idFromKey: boolean) => string);
}

/** CHAOS_HUGE_KEY_BYTES: another size, to tell the key's cost from the rest's. */
const hugeKey = "k".repeat(Number(process.env.CHAOS_HUGE_KEY_BYTES ?? 300_000));
const longId = "i".repeat(2000);
/** 200 headers of 1 KB: 200 KB. */
const hugeHeaders: IHeaders = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-h-${i}`, "h".repeat(1024)]));
const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

/** Good records carry their id as key too, so both id sources agree. */
const good = (id: string, text: string, extra: Partial<Case> = {}): Case => ({
  name: id,
  key: id,
  value: JSON.stringify({ id, text }),
  expect: `event:${id}`,
  ...extra,
});

const HOSTILE: Case[] = [
  {
    name: "64-bit id …161",
    key: null,
    value: '{"id":1844674407370955161,"text":"what a great day"}',
    expect: "event:1844674407370955161",
  },
  {
    name: "64-bit id …162",
    key: null,
    value: '{"id":1844674407370955162,"text":"what a great day"}',
    expect: "event:1844674407370955162",
  },
  {
    name: "binary garbage",
    key: "h-binary",
    value: Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x7b, 0x22]),
    expect: "dead:INVALID_UTF8",
  },
  { name: "100,000 open brackets", key: "h-open", value: "[".repeat(100_000), expect: "dead:INVALID_JSON" },
  { name: "100,000 nested arrays", key: "h-deep-array", value: deep(100_000), expect: "dead:SCHEMA" },
  good("h-deep-ignored", "nested deep, but not read", {
    value: `{"id":"h-deep-ignored","text":"nested deep, but not read","deep":${deep(100_000)}}`,
  }),
  {
    name: "deep value with a number id",
    key: null,
    value: `{"id":77,"text":"hi","deep":${deep(100_000)}}`,
    expect: "dead:SCHEMA",
  },
  good("h-headers", "200 KB of headers", { headers: hugeHeaders }),
  {
    // Events and dead letters are keyed by the input's key, which kafkajs's default partitioner
    // hashes (murmur2 on its BigInt-backed Long) in time quadratic in the key: 16 s for 300 KB.
    name: "300 KB key",
    key: hugeKey,
    value: JSON.stringify({ id: "h-hugekey", text: "a huge key" }),
    expect: (idFromKey) => `event:${idFromKey ? sha256(hugeKey) : "h-hugekey"}`,
  },
  { name: "tombstone", key: "h-tombstone", value: null, expect: "none" },
  {
    name: "raw control characters",
    key: "h-ctrl-raw",
    value: '{"id":"h-ctrl-raw","text":"a\u0001b\u001f"}',
    expect: "dead:INVALID_JSON",
  },
  good("h-ctrl", "", { value: '{"id":"h-ctrl","text":"a\\u0000b\\u001fc\\u007f"}' }),
  good("h-surrogate", "", { value: '{"id":"h-surrogate","text":"hi \\ud800 there \\udc00"}' }),
  { name: "lone surrogate in the id", key: null, value: '{"id":"h-bad\\ud800","text":"hi"}', expect: "dead:SCHEMA" },
  good("h-time", "from the far future", { timestamp: "9000000000000000" }),
  {
    name: "text over maxTextBytes",
    key: "h-long-text",
    value: JSON.stringify({ id: "h-long-text", text: "x".repeat(MAX_TEXT_BYTES + 1) }),
    expect: "dead:TOO_LARGE",
  },
  {
    name: "2,000-byte id",
    key: null,
    value: JSON.stringify({ id: longId, text: "a long id" }),
    expect: `event:${sha256(longId)}`,
  },
  { name: "empty text", key: "h-empty", value: '{"id":"h-empty","text":""}', expect: "dead:EMPTY_TEXT" },
  { name: "blank text", key: "h-blank", value: '{"id":"h-blank","text":" \\t\\n "}', expect: "dead:EMPTY_TEXT" },
  { name: "JSON array", key: "h-array", value: "[1,2,3]", expect: "dead:SCHEMA" },
  { name: "JSON string", key: "h-string", value: '"just a string"', expect: "dead:SCHEMA" },
  { name: "JSON number", key: "h-number", value: "42", expect: "dead:SCHEMA" },
  { name: "JSON null", key: "h-null", value: "null", expect: "dead:SCHEMA" },
  { name: "no text field", key: "h-notext", value: '{"id":"h-notext"}', expect: "dead:SCHEMA" },
];

/** Each hostile record after three good ones, round-robin over the partitions; good ones close each. */
function layout(): Array<Case & { partition: number }> {
  const out: Array<Case & { partition: number }> = [];
  let g = 0;
  const goodOne = () => good(`g-${g}`, texts[g++ % texts.length] as string);
  HOSTILE.forEach((c, i) => {
    const partition = i % PARTITIONS;
    for (let j = 0; j < 3; j++) out.push({ ...goodOne(), partition });
    out.push({ ...c, partition });
  });
  for (let p = 0; p < PARTITIONS; p++) for (let j = 0; j < 3; j++) out.push({ ...goodOne(), partition: p });
  return out;
}

describe("hostile records between good ones", { timeout: 150_000 }, () => {
  for (const [delivery, idFromKey] of [
    ["exactly-once", false],
    ["at-least-once", true],
  ] as const) {
    it(`gives each one event or one dead letter, and the worker goes on (${delivery}, idFromKey ${idFromKey})`, async () => {
      const [input, output, dlq] = [uniqueName("posts"), uniqueName("sentiment"), uniqueName("dead-letters")];
      await createTopics(client.admin, [
        {
          topic: input,
          numPartitions: PARTITIONS,
          configEntries: [
            { name: "max.message.bytes", value: String(4 * 1024 * 1024) },
            // A record time of 9e15 ms is far in the future: Kafka 4 refuses it unless allowed.
            { name: "message.timestamp.type", value: "CreateTime" },
            { name: "message.timestamp.after.max.ms", value: "9223372036854775807" },
          ],
        },
        { topic: output, numPartitions: 2 },
        { topic: dlq, numPartitions: 1 },
      ]);
      const records = layout();
      const producer = client.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const byOffset = new Map<string, Case>();
      try {
        // One at a time: the offset each got is how its output is found again.
        for (const r of records) {
          const [meta] = await producer.send({
            topic: input,
            messages: [
              {
                partition: r.partition,
                key: r.key,
                value: r.value,
                ...(r.headers ? { headers: r.headers } : {}),
                ...(r.timestamp ? { timestamp: r.timestamp } : {}),
              },
            ],
          });
          byOffset.set(`${r.partition}:${meta?.baseOffset}`, r);
        }
      } finally {
        await producer.disconnect();
      }

      const groupId = uniqueName("worker");
      const worker = await startWorker(
        loadConfig({
          env: {},
          flags: workerFlags(
            { brokers: services.kafkaBrokers.join(","), redisUrl: services.redisUrl, input, output, dlq },
            {
              "input.idFromKey": String(idFromKey),
              "input.maxTextBytes": String(MAX_TEXT_BYTES),
              "kafka.groupId": groupId,
              "kafka.delivery": delivery,
              // CHAOS_LOG_LEVEL=debug shows the worker's view of a failure.
              "telemetry.logLevel": process.env.CHAOS_LOG_LEVEL ?? "warn",
            },
          ),
        }),
      );
      let gaveUp: unknown;
      worker.failed.catch((e: unknown) => {
        gaveUp = e;
      });
      let tombstones: number;
      try {
        const from = Date.now();
        // CHAOS_TRACE=1: the worker's counters twice a second, to see where it stalls.
        const trace = process.env.CHAOS_TRACE
          ? setInterval(() => {
              const { records, events, deadLetters } = worker.counters.summary();
              process.stderr.write(
                `trace +${Date.now() - from} ms: records ${records}, events ${events}, letters ${deadLetters}, ready ${worker.isReady()}\n`,
              );
            }, 500)
          : undefined;
        await client.waitForGroupAtEnd(groupId, input, 60_000).finally(() => clearInterval(trace));
        process.stderr.write(
          `chaos-hostile (${delivery}): at the end in ${Date.now() - from} ms, ${JSON.stringify(worker.counters.summary())}\n`,
        );
        assert.equal(worker.isReady(), true, "still ready after the hostile records");
        tombstones = worker.counters.tombstones;
      } finally {
        await worker.stop();
      }
      assert.equal(gaveUp, undefined, "the worker's consumer never gave up");

      const [events, letters] = await Promise.all([
        readCommittedExactly(client.kafka, output, 60_000),
        readCommittedExactly(client.kafka, dlq, 60_000),
      ]);
      const outcomes = new Map<string, string[]>();
      const add = (at: string, outcome: string) => outcomes.set(at, [...(outcomes.get(at) ?? []), outcome]);
      const timeOf = new Map<string, { timestamp: string; timestampMs: string }>();
      for (const e of events.records) {
        const event = JSON.parse(String(e.value)) as {
          id: string;
          source: { partition: number; offset: string; timestamp: string; timestampMs: string };
        };
        add(`${event.source.partition}:${event.source.offset}`, `event:${event.id}`);
        timeOf.set(event.id, event.source);
      }
      for (const l of letters.records) {
        const h = (name: string) => String(l.headers[name]);
        add(`${h(HEADERS.sourcePartition)}:${h(HEADERS.sourceOffset)}`, `dead:${h(HEADERS.errorCode)}`);
      }
      const actual: Record<string, string> = {};
      const expected: Record<string, string> = {};
      for (const [at, c] of byOffset) {
        const label = `${c.name} @${at}`;
        expected[label] = typeof c.expect === "function" ? c.expect(idFromKey) : c.expect;
        const got = outcomes.get(at) ?? [];
        actual[label] = got.length === 0 ? "none" : got.join(" + ");
      }
      const strays = [...outcomes.keys()].filter((at) => !byOffset.has(at));
      if (JSON.stringify({ ...actual, strays }) !== JSON.stringify({ ...expected, strays: [] })) {
        // Where each output sits, to tell a resent batch from a reader's mistake.
        const where = (topic: string, r: { partition: number; offset: string; headers: IHeaders }) =>
          `${topic}[${r.partition}]@${r.offset} <- ${String(r.headers[HEADERS.sourcePartition] ?? "")}:${String(r.headers[HEADERS.sourceOffset] ?? "")}`;
        process.stderr.write(
          `chaos-hostile (${delivery}): input ${input}, dead letters:\n${letters.records.map((l) => where(dlq, l)).join("\n")}\n`,
        );
      }
      assert.deepEqual({ ...actual, strays }, { ...expected, strays: [] });
      assert.equal(tombstones, 1, "the tombstone is counted as skipped");
      const { timestamp, timestampMs } = timeOf.get("h-time") ?? {};
      assert.deepEqual({ timestamp, timestampMs }, { timestamp: "", timestampMs: "9000000000000000" });
    });
  }
});
