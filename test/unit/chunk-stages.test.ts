/**
 * The chunk's stages one by one, with fakes behind the interfaces the pipeline defines: decode
 * types each record by kind, claim skips what was seen (and tags again what a sweep aborted),
 * infer takes trusted cache hits and gives up on the drain signal, build keeps offset order and
 * dead-letters what the output cannot take, account counts only what was committed; and partition
 * ownership fences once per generation and remembers what a lost completion must tag again.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AbandonedChunkError, DedupUnavailableError } from "../../src/errors/errors.js";
import { PartitionOwnership } from "../../src/pipeline/partition-ownership.js";
import { RunCounters } from "../../src/pipeline/run-counters.js";
import { accountChunk, lagAfter } from "../../src/pipeline/stages/account-chunk.js";
import { buildChunk, type OutputFormat } from "../../src/pipeline/stages/build-chunk.js";
import { claimChunk } from "../../src/pipeline/stages/claim-chunk.js";
import { decodeChunk } from "../../src/pipeline/stages/decode-chunk.js";
import { identifyLanguages, inferChunk } from "../../src/pipeline/stages/infer-chunk.js";
import { type ChunkRecord, isMessage, type MessageItem } from "../../src/pipeline/stages/items.js";
import { FakeClassifier, FakeDedup, kafkaJobConfig, POSITIVE } from "../helpers/processor-fakes.js";

const input = kafkaJobConfig.input;
const tp = { topic: "posts", partition: 0 };

const record = (offset: number, value: string | null): ChunkRecord => ({
  offset: String(offset),
  key: null,
  value: value === null ? null : Buffer.from(value),
  timestamp: "1767225600000",
});
const post = (offset: number, id = `id-${offset}`, extra: Record<string, string> = {}) =>
  record(offset, JSON.stringify({ id, text: "good", ...extra }));
const messagesOf = (records: ChunkRecord[]) => decodeChunk(tp, records, input).filter(isMessage);
/** The messages of `records` as the claim stage sees them. */
const claimable = (records: ChunkRecord[]) => {
  const messages = messagesOf(records);
  return {
    partition: "posts/0/",
    ids: messages.map((m) => m.decoded.id),
    offsets: messages.map((m) => m.source.offset),
  };
};
/** The messages of `records` as the infer stage sees them, every one to tag, encoded by `classifier`. */
const inferInput = async (records: ChunkRecord[], classifier: FakeClassifier, hashes: string[] = []) => {
  const texts = messagesOf(records).map((m) => m.decoded.text);
  return { tagged: texts.map((_, i) => i), hashes, encodings: await classifier.encodePacked(texts) };
};

/** Records as strings: what went where, in order. */
const format: OutputFormat<ChunkRecord, string> = {
  event: (event) => `event ${event.id}`,
  deadLetter: (letter, original) => `dead ${letter.code} @${original.offset}`,
  bytes: (output) => output.length,
  maxEventBytes: Number.POSITIVE_INFINITY,
};

describe("the decode stage", () => {
  it("types each record by kind, with its coordinates", () => {
    const items = decodeChunk(tp, [post(0), record(1, "{"), record(2, null)], input);
    assert.deepEqual(
      items.map((i) => [i.decoded.kind, i.source.offset, i.source.timestamp]),
      [
        ["message", "0", "2026-01-01T00:00:00.000Z"],
        ["dead", "1", "2026-01-01T00:00:00.000Z"],
        ["tombstone", "2", "2026-01-01T00:00:00.000Z"],
      ],
    );
    assert.deepEqual(
      items.filter(isMessage).map((m) => m.decoded.id),
      ["id-0"],
    );
  });
});

describe("the claim stage", () => {
  const context = (dedup: FakeDedup | undefined) => ({
    dedup,
    retag: undefined,
    givenUp: () => false,
  });

  it("keeps what was not seen; everything without de-duplication", async () => {
    const messages = claimable([post(0), post(1, "id-0"), post(2)]);
    assert.equal((await claimChunk(messages, context(undefined)))?.length, 3);
    const dedup = new FakeDedup();
    dedup.remembers = true;
    const tagged = await claimChunk(messages, context(dedup));
    assert.deepEqual(
      tagged?.map((m) => messages.offsets[m]),
      ["0", "2"],
    );
  });

  it("tags again, past de-duplication, the first copy of each id a sweep aborted", async () => {
    const dedup = new FakeDedup();
    dedup.remembers = true;
    await dedup.confirm(["id-0", "id-1", "id-5"]);
    const messages = claimable([post(0), post(1), post(2, "id-0"), post(5)]);
    const retag = { next: 3n, ids: new Set(["id-0", "id-1", "id-5"]) };
    const tagged = await claimChunk(messages, { ...context(dedup), retag });
    // id-5 is past the aborted commit: de-duplicated as usual.
    assert.deepEqual(
      tagged?.map((m) => messages.offsets[m]),
      ["0", "1"],
    );
  });

  it("holds the chunk while the store does not answer (readiness false), and gives it up when told", async () => {
    const dedup = new FakeDedup();
    dedup.failures.push(new DedupUnavailableError("down"), new DedupUnavailableError("down"));
    const ready: boolean[] = [];
    const messages = claimable([post(0)]);
    const waiting = {
      ...context(dedup),
      setReady: (up: boolean) => void ready.push(up),
    };
    assert.equal((await claimChunk(messages, waiting))?.length, 1);
    assert.deepEqual(ready, [false, false, true]);

    dedup.failures.push(new DedupUnavailableError("down"));
    assert.equal(await claimChunk(messages, { ...waiting, givenUp: () => true }), undefined);
    dedup.failures.push(new Error("a bug"));
    await assert.rejects(claimChunk(messages, waiting), /a bug/);
  });
});

describe("the infer stage", () => {
  it("takes a cached result only with the model's shape, and caches what it inferred", async () => {
    const classifier = new FakeClassifier();
    const dedup = new FakeDedup();
    const wrongLabel = { ...POSITIVE, label: "joy" };
    dedup.results = {
      getCached: async (hashes) => hashes.map((_, i) => [POSITIVE, wrongLabel, undefined][i]),
      putCached: async () => {},
    };
    const records = [
      record(0, JSON.stringify({ id: "a", text: "one" })),
      record(1, JSON.stringify({ id: "b", text: "two" })),
      record(2, JSON.stringify({ id: "c", text: "three" })),
    ];
    const messages = await inferInput(records, classifier, ["h0", "h1", "h2"]);
    const inferred = await inferChunk(messages, new AbortController().signal, { classifier, dedup });
    assert.equal(inferred.cacheHits, 1);
    assert.deepEqual(classifier.submitted, ["two", "three"]);
    // One row of scores per message, the cache hit's included, in the model's label order.
    assert.deepEqual(Array.from(inferred.scores), [0.9, 0.05, 0.05, 0.9, 0.05, 0.05, 0.9, 0.05, 0.05]);
    assert.deepEqual(
      inferred.cacheWrites.map((w) => [w.textHash, w.result.label]),
      [
        ["h1", "positive"],
        ["h2", "positive"],
      ],
    );
  });

  it("gives the chunk up when the drain signal aborts while it waits for capacity, submitting nothing more", async () => {
    const classifier = new FakeClassifier();
    classifier.hasCapacity = false;
    classifier.whenCapacity = () => new Promise(() => {});
    const drain = new AbortController();
    setTimeout(() => drain.abort(), 20);
    const messages = await inferInput([post(0)], classifier);
    const inferring = inferChunk(messages, drain.signal, { classifier, dedup: undefined });
    await assert.rejects(inferring, AbandonedChunkError);
    assert.deepEqual(classifier.submitted, []);
  });

  it("asks for the languages to identify once per text, and none when that fails or is off", async () => {
    const messages = messagesOf([post(0), post(1), post(2, "id-2", { lang: "de" })]);
    const asked: string[][] = [];
    const identifyAll = async (texts: readonly string[]) => {
      asked.push([...texts]);
      return texts.map(() => ({ lang: "fr", confidence: 0.5 }));
    };
    const found = await identifyLanguages(messages, "missing", identifyAll);
    assert.deepEqual(asked, [["good"]]);
    assert.equal(found?.get("good")?.lang, "fr");
    assert.equal(await identifyLanguages(messages, "off", identifyAll), undefined);
    assert.equal(
      await identifyLanguages(messages, "always", async () => {
        throw new Error("gone");
      }),
      undefined,
    );
  });
});

describe("the build stage", () => {
  it("writes the outputs in offset order, and dead-letters an event the output cannot take", () => {
    const items = decodeChunk(tp, [post(0), record(1, "{"), record(2, null), post(3, "a-much-longer-id")], input);
    const results = new Map<MessageItem, typeof POSITIVE>(items.filter(isMessage).map((m) => [m, POSITIVE]));
    const context = {
      model: { name: "fake", revision: "r1" },
      detectLanguage: "off" as const,
      identify: undefined,
      format: { ...format, maxEventBytes: 10 },
      keepTags: true,
    };
    const built = buildChunk(items, results, context);
    assert.deepEqual(built.events, ["event id-0"]);
    assert.deepEqual(built.deadLetters, ["dead INVALID_JSON @1", "dead OUTPUT_TOO_LARGE @3"]);
    assert.deepEqual(built.deadLetterCodes, ["INVALID_JSON", "OUTPUT_TOO_LARGE"]);
    assert.deepEqual(
      built.tags.map((t) => t.event.id),
      ["id-0"],
    );
    assert.equal(buildChunk(items, results, { ...context, keepTags: false }).tags.length, 0);
    // A message without a result (a duplicate) makes nothing.
    assert.deepEqual(buildChunk(items, new Map(), context).events, []);
  });
});

describe("the account stage", () => {
  it("confirms the claims, caches the results, counts and measures the committed chunk", async () => {
    const dedup = new FakeDedup();
    const cached: unknown[] = [];
    dedup.results = { getCached: async () => [], putCached: async (entries) => void cached.push(...entries) };
    const counters = new RunCounters();
    const lags: number[] = [];
    const offered: string[] = [];
    await accountChunk(
      {
        records: 3,
        tombstones: 1,
        langIgnored: 1,
        taggedIds: ["id-0"],
        duplicates: 2,
        events: [{ lang: "und", label: "positive", count: 1 }],
        deadLetters: ["INVALID_JSON"],
        cacheHits: 1,
        cacheWrites: [{ textHash: "h", result: POSITIVE }],
        timestamps: [Date.now() - 1000],
        dedup,
        tags: [],
        offer: (tags) => void offered.push(...tags.map((t) => t.text)),
      },
      lagAfter("10", "2"),
      { counters, recordLatency: () => {}, setLag: (lag) => void lags.push(lag) },
    );
    assert.deepEqual(dedup.confirmed, ["id-0"]);
    assert.equal(cached.length, 1);
    assert.deepEqual(lags, [7]);
    assert.deepEqual(
      [counters.records, counters.events, counters.duplicates, counters.cacheHits, counters.tombstones],
      [3, 1, 2, 1, 1],
    );
    assert.equal(counters.inputLangIgnored, 1);
    assert.deepEqual(counters.deadLetters, { INVALID_JSON: 1 });
    assert.deepEqual(offered, [], "no tags: nothing offered");
  });
});

describe("partition ownership (exactly-once)", () => {
  function owner(committed: () => string | undefined) {
    const acquired: number[] = [];
    const sweeps: string[] = [];
    const seeks: string[] = [];
    const ownership = new PartitionOwnership({
      sink: {
        acquire: async (_, partition) => void acquired.push(partition),
        sweep: async (_, partition, offset) => void sweeps.push(`${partition}@${offset}`),
      },
      source: { committedOffset: async () => committed(), seek: (_, offset) => void seeks.push(offset) },
      logger: { error: () => {} },
    });
    return { ownership, acquired, sweeps, seeks };
  }

  it("fences each assigned partition before its first chunk, once per generation, and moves a reader at the wrong offset", async () => {
    const { ownership, acquired, seeks } = owner(() => "5");
    ownership.onAssignment([tp], []);
    assert.equal(await ownership.admit(tp, "3"), false);
    assert.deepEqual(seeks, ["5"]);
    assert.equal(await ownership.admit(tp, "5"), true);
    assert.deepEqual(acquired, [0]);
    ownership.onAssignment([tp], []);
    assert.equal(await ownership.admit(tp, "5"), true);
    assert.deepEqual(acquired, [0, 0]);
  });

  it("after a failure fences again and sweeps; a commit acknowledged but lost is swept and its ids tagged again", async () => {
    let offset = "0";
    const { ownership, sweeps } = owner(() => offset);
    ownership.onAssignment([tp], []);
    await ownership.admit(tp, "0");
    ownership.committed(tp, "2", ["id-0", "id-1"]);
    offset = "2";
    ownership.failed(tp);
    assert.equal(await ownership.admit(tp, "2"), true);
    assert.deepEqual(sweeps, ["0@2"]);
    assert.equal(ownership.retag(tp), undefined);
    // The broker lost the completion: its offset is behind the acknowledged commit.
    offset = "0";
    ownership.failed(tp);
    assert.equal(await ownership.admit(tp, "2"), false);
    assert.deepEqual(sweeps, ["0@2", "0@0"]);
    assert.deepEqual([...(ownership.retag(tp)?.ids ?? [])], ["id-0", "id-1"]);
    // Tagged again and committed past it: nothing more to tag again.
    ownership.committed(tp, "2", ["id-0", "id-1"]);
    assert.equal(ownership.retag(tp), undefined);
  });

  it("settles a commit with no answer by the committed offset read after fencing again", async () => {
    let offset: string | undefined = "4";
    const { ownership, seeks } = owner(() => offset);
    assert.equal(await ownership.settleUnknownCommit(tp, "4", new Error("no answer")), true);
    offset = "1";
    assert.equal(await ownership.settleUnknownCommit(tp, "4", new Error("no answer")), false);
    assert.deepEqual(seeks, ["1"]);
    const lost = new Error("no answer");
    const failing = new PartitionOwnership({
      sink: {
        acquire: async () => {
          throw new Error("coordinator gone");
        },
        sweep: async () => {},
      },
      source: { committedOffset: async () => undefined, seek: () => {} },
      logger: { error: () => {} },
    });
    await assert.rejects(failing.settleUnknownCommit(tp, "4", lost), (e) => e === lost);
  });
});
