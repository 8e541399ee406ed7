/**
 * The per-message work of a chunk on the processing threads gives exactly what it gives in the
 * process: the same messages, ids, dead records and encodings from `prepare`, the same event
 * bytes, kinds and times from `build`; records cross as one buffer, and a chunk lives on its
 * thread only until it is built or released.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { packEncodings } from "../../src/inference/packed.js";
import { TextTokenizer } from "../../src/inference/tokenizer.js";
import type { ChunkRecord } from "../../src/pipeline/stages/items.js";
import type { BuildRequest, ChunkModel, Prepared } from "../../src/pipeline/work/chunk-work.js";
import { InProcessChunkWork } from "../../src/pipeline/work/in-process.js";
import { packRecords, unpackRecords } from "../../src/pipeline/work/packed-records.js";
import { processingThreads, ThreadPoolChunkWork, usableCores } from "../../src/pipeline/work/thread-pool.js";
import { TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { kafkaJobConfig } from "../helpers/processor-fakes.js";

const tokenizerPath = join(TINY_MODEL_DIR, "tokenizer.json");
const tokenizer = TextTokenizer.fromFile(tokenizerPath, 32);
const model: ChunkModel = {
  model: { tokenizerPath, maxLength: 32 },
  encodePacked: async (texts) => packEncodings(await tokenizer.encodeAll(texts)),
};
const tp = { topic: "posts", partition: 3 };
const LABELS = ["positive", "neutral", "negative"];

const texts = tinyTexts();
const record = (offset: number, value: string | null, extra: Partial<ChunkRecord> = {}): ChunkRecord => ({
  offset: String(offset),
  key: Buffer.from(`k-${offset}`),
  value: value === null ? null : Buffer.from(value),
  timestamp: "1767225600000",
  ...extra,
});
/** Posts in many languages, a long one cut, with bad records, a tombstone and an odd language field between them. */
const records: ChunkRecord[] = [
  ...texts.slice(0, 20).map((text, i) => record(100 + i, JSON.stringify({ id: `id-${i}`, text }))),
  record(120, "{not json"),
  record(121, null),
  record(122, JSON.stringify({ id: "long", text: "word ".repeat(200) }), { key: null, timestamp: "" }),
  record(123, JSON.stringify({ id: "odd-lang", text: "bonjour à tous", lang: "x".repeat(300) })),
  record(124, JSON.stringify({ id: "headers", text: "hi" }), { headerCount: 5000 }),
  record(125, JSON.stringify({ text: "no id given" }), { timestamp: "-5" }),
];

/** Every message tagged, each with scores of its own. */
function buildRequest(prepared: Prepared, skip = new Set<number>()): BuildRequest {
  const tagged = Int32Array.from(prepared.ids.map((_, m) => m).filter((m) => !skip.has(m)));
  const scores = new Float64Array(tagged.length * 3);
  for (let t = 0; t < tagged.length; t++) scores.set([0.1 + t / 100, 0.2, 0.7 - t / 100], t * 3);
  return {
    tagged,
    scores,
    truncated: new Uint8Array(tagged.length),
    tokens: Int32Array.from(tagged, () => 7),
    model: { name: "tiny", revision: "r1" },
    labels: LABELS,
    detectLanguage: "missing",
    processedAt: Date.parse("2026-12-07T10:00:00Z"),
    keepTags: true,
  };
}

const plain = (prepared: Prepared) => ({
  messageRecords: Array.from(prepared.messageRecords),
  ids: prepared.ids,
  hashes: prepared.hashes,
  encodings: {
    ids: Array.from(prepared.encodings.ids),
    starts: Array.from(prepared.encodings.starts),
    truncated: Array.from(prepared.encodings.truncated),
  },
  dead: prepared.dead,
  tombstones: prepared.tombstones,
  langIgnored: prepared.langIgnored,
});

describe("packed records", () => {
  it("cross as one buffer and come back the same, nulls, header counts and empty timestamps included", () => {
    const back = unpackRecords(structuredClone(packRecords(records)));
    assert.deepEqual(
      back.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null, r.timestamp, r.headerCount]),
      records.map((r) => [
        r.offset,
        r.key?.toString() ?? null,
        r.value?.toString() ?? null,
        r.timestamp,
        r.headerCount,
      ]),
    );
    assert.deepEqual(unpackRecords(packRecords([])), []);
  });
});

describe("processing threads", () => {
  let pool: ThreadPoolChunkWork;
  const local = new InProcessChunkWork(kafkaJobConfig.input);
  before(async () => {
    pool = await ThreadPoolChunkWork.start(2, kafkaJobConfig.input);
  });
  after(async () => {
    await pool.close();
  });

  it("prepare and build as the process does, byte for byte", async () => {
    const [there, here] = await Promise.all([
      pool.prepare(tp, records, model, { hashes: true }),
      local.prepare(tp, records, model, { hashes: true }),
    ]);
    assert.deepEqual(plain(there), plain(here));
    // What the records are: 23 messages, 2 dead letters with their codes, 1 tombstone, 1 odd language.
    assert.equal(here.ids.length, 23);
    assert.deepEqual(
      here.dead.map((d) => [d.index, d.code]),
      [
        [20, "INVALID_JSON"],
        [24, "TOO_MANY_HEADERS"],
      ],
    );
    assert.deepEqual([here.tombstones, here.langIgnored], [1, 1]);
    assert.equal(here.encodings.truncated[20], 1, "the long text is cut at maxLength");

    const skip = new Set([3, 4]); // duplicates: no event
    const [a, b] = await Promise.all([there.build(buildRequest(there, skip)), here.build(buildRequest(here, skip))]);
    assert.equal(Buffer.from(a.values).toString(), Buffer.from(b.values).toString());
    assert.deepEqual(Array.from(a.starts), Array.from(b.starts));
    assert.deepEqual(
      Array.from(a.kindOf, (k) => a.kinds[k]),
      Array.from(b.kindOf, (k) => b.kinds[k]),
    );
    assert.deepEqual(Array.from(a.timestamps), Array.from(b.timestamps));
    assert.deepEqual(a.tags, b.tags);
    // The events themselves: one per tagged message, in order, with its scores and time.
    const events = Array.from({ length: a.starts.length - 1 }, (_, e) =>
      JSON.parse(Buffer.from(a.values.subarray(a.starts[e], a.starts[e + 1])).toString()),
    );
    assert.equal(events.length, 21);
    assert.deepEqual(
      events.slice(0, 4).map((e) => e.id),
      ["id-0", "id-1", "id-2", "id-5"],
    );
    assert.equal(events[0].sentiment.label, "negative");
    assert.equal(events[0].processedAt, "2026-12-07T10:00:00.000Z");
    assert.equal(Number.isNaN(a.timestamps[events.findIndex((e) => e.id === "long")]), true, "no time: no latency");
  });

  it("forget a released chunk: building it then fails, and the thread goes on", async () => {
    const prepared = await pool.prepare(tp, records.slice(0, 3), model, { hashes: false });
    assert.deepEqual(prepared.hashes, []);
    prepared.release();
    // The release went first on the same thread: nothing is kept there.
    await assert.rejects(prepared.build(buildRequest(prepared)), /no prepared chunk/);
    const again = await pool.prepare(tp, records.slice(0, 3), model, { hashes: false });
    assert.equal((await again.build(buildRequest(again))).starts.length, 4);
  });

  it("start a new thread in place of one that died: the chunk on it fails, the next ones are worked", async () => {
    const logged: string[] = [];
    const dying = await ThreadPoolChunkWork.start(1, kafkaJobConfig.input, {
      threadUrl: new URL("../helpers/dying-work-thread.js", import.meta.url),
      log: (message) => void logged.push(message),
    });
    try {
      const post = (offset: number) => record(offset, JSON.stringify({ id: `id-${offset}`, text: "hello" }));
      await assert.rejects(dying.prepare(tp, [post(666)], model, { hashes: false }), /processing thread exited/);
      for (const offset of [667, 668]) {
        const next = await dying.prepare(tp, [post(offset)], model, { hashes: false });
        assert.deepEqual(next.ids, [`id-${offset}`]);
        assert.equal((await next.build(buildRequest(next))).starts.length, 2);
      }
      assert.deepEqual(logged, ["a processing thread stopped; starting another in its place"]);
    } finally {
      await dying.close();
    }
  });

  it("are one fewer than the cores by default, at least 1 and at most 8; 0 keeps the work in the process", () => {
    assert.deepEqual(
      [1, 2, 4, 32].map((cores) => processingThreads(undefined, cores)),
      [1, 1, 3, 8],
    );
    assert.equal(processingThreads(0, 16), 0);
    assert.equal(processingThreads(12, 2), 12);
  });

  it("count the cores a CPU quota leaves (cgroup v2, then v1), not every CPU of the machine", () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-cgroup-"));
    const file = (name: string, text?: string) => {
      const path = join(dir, name);
      if (text !== undefined) writeFileSync(path, text);
      return path;
    };
    const v2 = (text: string) => ({ v2: file("cpu.max", text), v1Quota: file("q"), v1Period: file("p") });
    assert.equal(usableCores(v2("250000 100000\n"), 64), 3, "2.5 CPUs: 3 cores");
    assert.equal(usableCores(v2("max 100000\n"), 64), 64, "no quota");
    assert.equal(usableCores(v2("50000 100000"), 64), 1);
    assert.equal(usableCores(v2("800000 100000"), 4), 4, "never more than the CPUs");
    const v1 = { v2: join(dir, "none"), v1Quota: file("quota", "200000"), v1Period: file("period", "100000") };
    assert.equal(usableCores(v1, 64), 2);
    assert.equal(usableCores({ ...v1, v1Quota: file("unlimited", "-1") }, 64), 64);
    assert.equal(usableCores({ v2: join(dir, "none"), v1Quota: join(dir, "none"), v1Period: join(dir, "none") }, 6), 6);
    rmSync(dir, { recursive: true });
  });
});
