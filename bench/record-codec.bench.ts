/**
 * What kafkajs's record encoding costs the main thread per output record, ours (src/kafka/
 * record-encoder.ts, record-batch-encoder.ts, crc32c.ts) against kafkajs 2.2.4's own in the same
 * run on the same records: the worker's events of real posts (the event as the sink writes it,
 * with its headers; the input's id as the key), encoded as produce requests of one batch per
 * partition, as the exactly-once sink sends them, and framed as a connection sends them. Also
 * the CRC-32C alone (ours from @node-rs/crc32 where it is installed: the first line says), and the
 * fetch side: the same batches decoded by kafkajs's batch decoder with its record decoder and with
 * ours. CPU µs per record, the median of interleaved repeats after a warm-up.
 *
 *   npm run build && node dist/bench/record-codec.bench.js --data path/to/umsab/test.jsonl \
 *     [--batch 250] [--partitions 6] [--repeat 7]
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import "../src/kafka/kafkajs.js";
import { SENTIMENT_EVENT_SCHEMA, type SentimentEvent } from "../src/events/sentiment-event.js";
import { serializeEvent } from "../src/events/serialize-event.js";
import { CRC32C_SOURCE, crc32c } from "../src/kafka/crc32c.js";
import { eventRecord } from "../src/sinks/kafka/records.js";
import { kafkajsOwn } from "../test/helpers/kafkajs-own.js";
import { KafkaDecoder } from "../test/helpers/record-bytes.js";
import { fmt, fmtRange, markdownTable, median } from "./stats.js";

const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: process.env.SW_BENCH_DATA },
    batch: { type: "string", default: "250" },
    partitions: { type: "string", default: "6" },
    repeat: { type: "string", default: "7" },
  },
});
if (!args.data) throw new Error("pass --data <jsonl> (or SW_BENCH_DATA), e.g. path/to/umsab/test.jsonl");
const perBatch = Number(args.batch);
const partitions = Number(args.partitions);
const repeat = Number(args.repeat);

const require = createRequire(import.meta.url);
const PRODUCE = "kafkajs/src/protocol/requests/produce/v3/request.js";
type ProduceRequest = (options: object) => { encode(): Promise<{ buffer: Buffer }> };
const FRAME = "kafkajs/src/protocol/request.js";
type Frame = (options: { correlationId: number; clientId: string; request: object }) => Promise<{ buffer: Buffer }>;
const ours = { produce: require(PRODUCE) as ProduceRequest, frame: require(FRAME) as Frame };
const theirs = {
  produce: kafkajsOwn<ProduceRequest>(PRODUCE, [
    "kafkajs/src/protocol/recordBatch/record/v0/index.js",
    "kafkajs/src/protocol/recordBatch/v0/index.js",
  ]),
  frame: kafkajsOwn<Frame>(FRAME),
};
const kafkajsCrc = require("kafkajs/src/protocol/recordBatch/crc32C/index.js") as (bytes: Buffer) => number;
type DecodeBatch = (decoder: unknown) => Promise<{ records: unknown[] }>;
const BATCH_DECODER = "kafkajs/src/protocol/recordBatch/v0/decoder.js";
/** kafkajs's batch decoder, with our record decoder and with its own. */
const decodeBatch = {
  ours: require(BATCH_DECODER) as DecodeBatch,
  theirs: kafkajsOwn<DecodeBatch>(BATCH_DECODER, ["kafkajs/src/protocol/recordBatch/record/v0/decoder.js"]),
};
const Long = require("kafkajs/src/utils/long.js") as { fromValue(v: unknown): unknown };

interface Post {
  id: string;
  lang?: string;
  text: string;
  label?: string;
}
const posts: Post[] = readFileSync(args.data, "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as Post);

/** The worker's output record for a post: its event (with the post itself when `passthrough`), key and headers. */
function outputRecord(post: Post, i: number, passthrough: boolean) {
  const time = new Date(1_765_000_000_000 + i * 37);
  const event: SentimentEvent = {
    schema: SENTIMENT_EVENT_SCHEMA,
    id: post.id,
    source: {
      topic: "posts",
      partition: i % partitions,
      offset: String(i),
      timestamp: time.toISOString(),
      timestampMs: String(time.getTime()),
    },
    sentiment: { label: "positive", score: 0.61, scores: { positive: 0.61, neutral: 0.27, negative: 0.12 } },
    ...(post.lang ? { lang: post.lang, langSource: "input" as const, languageSupported: true } : {}),
    truncated: false,
    model: { name: "tabularisai/multilingual-sentiment-analysis", revision: "main" },
    processedAt: new Date(time.getTime() + 40).toISOString(),
    ...(passthrough ? { input: post as unknown as Record<string, unknown> } : {}),
  };
  const original = {
    key: Buffer.from(post.id),
    value: null,
    headers: { traceparent: `00-${"4bf92f3577b34da6a3ce929d0e0e4736"}-${String(i).padStart(16, "0")}-01` },
  };
  return eventRecord(Buffer.from(serializeEvent(event)), original);
}

/** Produce requests of `partitions` batches of `perBatch` records each, as the transactional producer sends. */
function requests(passthrough: boolean) {
  const perRequest = perBatch * partitions;
  const count = Math.max(perRequest, Math.floor(posts.length / perRequest) * perRequest);
  const records = Array.from({ length: count }, (_, i) =>
    outputRecord(posts[i % posts.length] as Post, i, passthrough),
  );
  const out: object[] = [];
  for (let start = 0; start < count; start += perRequest) {
    out.push({
      acks: -1,
      timeout: 30_000,
      transactionalId: "sentiment-worker-0",
      producerId: Long.fromValue(4242),
      producerEpoch: 3,
      compression: 0,
      topicData: [
        {
          topic: "sentiment-events",
          partitions: Array.from({ length: partitions }, (_, p) => ({
            partition: p,
            firstSequence: start / partitions,
            messages: records.slice(start + p * perBatch, start + (p + 1) * perBatch),
          })),
        },
      ],
    });
  }
  return { count, requests: out, bytes: records.reduce((n, r) => n + (r.value as Buffer).length, 0) / count };
}

/** CPU µs of `run` per record. */
async function cpuPerRecord(records: number, run: () => Promise<void> | void): Promise<number> {
  const start = process.cpuUsage();
  await run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / records;
}

const rows: string[][] = [];
for (const passthrough of [false, true]) {
  const set = requests(passthrough);
  /** Every request, framed as a connection sends it; the payload (past the frame's 4 + 10 + client id bytes) kept. */
  const encodeAll = async ({ produce, frame }: typeof ours) => {
    const out: Buffer[] = [];
    for (const request of set.requests) {
      const framed = await frame({ correlationId: 1, clientId: "sw", request: produce(request) });
      out.push(framed.buffer.subarray(4 + 10 + 2));
    }
    return out;
  };
  // The same bytes, or the comparison means nothing.
  // (The worker's records carry no timestamp: kafkajs stamps them with Date.now(), pinned here.)
  const now = Date.now;
  Date.now = () => 1_765_000_000_000;
  const [a, b] = [await encodeAll(ours), await encodeAll(theirs)];
  Date.now = now;
  if (!a.every((buf, i) => buf.equals(b[i] as Buffer))) throw new Error("ours and kafkajs's encode differently");
  // The batches (past each partition's number and size) and where their CRC starts, for the CRC and decoding rows.
  const batches: Buffer[] = [];
  for (const request of a) {
    // transactional id, acks, timeout, one topic, its name, its partitions' count.
    let at = 2 + "sentiment-worker-0".length + 2 + 4 + 4 + 2 + "sentiment-events".length + 4;
    for (let p = 0; p < partitions; p++) {
      const size = request.readInt32BE(at + 4);
      const batch = request.subarray(at + 8, at + 8 + size);
      if (batch.readUInt32BE(17) !== crc32c(batch, 21)) throw new Error("a batch read at the wrong place");
      batches.push(batch);
      at += 8 + size;
    }
  }
  const crcAll = (crc: (batch: Buffer) => number) => () => {
    for (const batch of batches) crc(batch.subarray(21));
  };
  const cases: [string, () => Promise<void> | void, () => Promise<void> | void][] = [
    [
      "produce request, framed (records, batches, CRC, request)",
      async () => void (await encodeAll(theirs)),
      async () => void (await encodeAll(ours)),
    ],
    ["CRC-32C alone", crcAll(kafkajsCrc), crcAll((batch) => crc32c(batch))],
  ];
  const decodeAll = (decode: DecodeBatch) => async () => {
    for (const batch of batches) await decode(new KafkaDecoder(batch));
  };
  cases.push(["fetch: decoding the batches", decodeAll(decodeBatch.theirs), decodeAll(decodeBatch.ours)]);
  const times = cases.map(() => ({ theirs: [] as number[], ours: [] as number[] }));
  for (let r = 0; r < repeat + 1; r++) {
    for (const [i, [, kafkajsRun, ourRun]] of cases.entries()) {
      const t = times[i] as { theirs: number[]; ours: number[] };
      const [theirTime, ourTime] = [await cpuPerRecord(set.count, kafkajsRun), await cpuPerRecord(set.count, ourRun)];
      // The first round warms up (JIT).
      if (r > 0) {
        t.theirs.push(theirTime);
        t.ours.push(ourTime);
      }
    }
  }
  const label = `${passthrough ? "events with passthrough" : "events"} (${fmt(set.bytes)} B)`;
  for (const [i, [name]] of cases.entries()) {
    const t = times[i] as { theirs: number[]; ours: number[] };
    const ratios = t.theirs.map((x, k) => x / (t.ours[k] as number));
    rows.push([
      label,
      name,
      fmt(median(t.theirs), 2),
      fmt(median(t.ours), 2),
      `${fmt(median(ratios), 1)} (${fmtRange(ratios, 1)})`,
    ]);
  }
}
process.stdout.write(
  `${posts.length} posts from ${args.data}; ${partitions} partitions × ${perBatch} records per request; CRC-32C from ${CRC32C_SOURCE}; medians of ${repeat} interleaved repeats\n`,
);
process.stdout.write(
  `${markdownTable(["records", "work", "kafkajs 2.2.4: CPU µs / record", "ours", "kafkajs ÷ ours (range)"], rows, [
    "left",
    "left",
    "right",
    "right",
    "right",
  ]).join("\n")}\n`,
);
