/**
 * The chunk pipeline's decisions with fakes around it: what happens to the claims, the
 * read position and the fencing when a commit fails in each way the sinks report, when the drain
 * signal aborts a chunk, and with records whose outputs cannot be written as they are.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChunkSource, ConsumedRecord, PartitionChunk, TopicPartition } from "../../src/consumers/chunk-source.js";
import { CommitOutcomeUnknownError, FencedError, OffsetCommitError } from "../../src/errors/errors.js";
import type { Identified } from "../../src/language/identify.js";
import { ChunkPipeline, type ChunkPipelineParts, type OutputLimits } from "../../src/pipeline/chunk-pipeline.js";
import { atLeastOnce, exactlyOnce } from "../../src/pipeline/delivery.js";
import { RunCounters } from "../../src/pipeline/run-counters.js";
import type { PartitionOutput, PartitionSink, ProducedRecord } from "../../src/sinks/kafka/partition-sink.js";
import { HEADERS } from "../../src/sinks/kafka/records.js";
import { FakeClassifier, FakeDedup, kafkaJobConfig, quietTelemetry } from "../helpers/processor-fakes.js";

const config = kafkaJobConfig;
const quiet = quietTelemetry();

class FakeSink implements PartitionSink {
  acquired = 0;
  readonly outputs: PartitionOutput[] = [];
  readonly sweeps: string[] = [];
  fail: Error | undefined;
  async acquire(): Promise<void> {
    this.acquired++;
  }
  async sweep(_topic: string, partition: number, offset: string): Promise<void> {
    this.sweeps.push(`${partition}@${offset}`);
  }
  async commit(output: PartitionOutput): Promise<void> {
    this.outputs.push(output);
    const error = this.fail;
    this.fail = undefined;
    if (error) throw error;
  }
  async release(): Promise<void> {}
  async close(): Promise<void> {}
}

class FakeSource implements Pick<ChunkSource, "committedOffset" | "seek"> {
  committed: string | undefined;
  /** Answers for the next reads of the committed offset, before `committed` again. */
  readonly next: string[] = [];
  readonly seeks: string[] = [];
  async committedOffset(): Promise<string | undefined> {
    return this.next.shift() ?? this.committed;
  }
  seek(_: TopicPartition, offset: string): void {
    this.seeks.push(offset);
  }
}

function parts(
  delivery: "exactly-once" | "at-least-once" = "exactly-once",
  limits?: OutputLimits,
  passthrough = false,
  identifyAll?: (texts: readonly string[]) => Promise<Identified[]>,
  chunks?: ChunkPipelineParts["chunks"],
) {
  const classifier = new FakeClassifier();
  const dedup = new FakeDedup();
  const sink = new FakeSink();
  const source = new FakeSource();
  const counters = new RunCounters();
  const pipeline = new ChunkPipeline({
    config: { ...config, input: { ...config.input, passthrough } },
    // As the Kafka job chooses it.
    delivery:
      delivery === "exactly-once" ? exactlyOnce({ sink, source, logger: quiet.current.logger }) : atLeastOnce({ sink }),
    tagging: () => ({ value: { classifier, dedup }, release: () => {} }),
    counters,
    workerVersion: "test",
    telemetry: quiet.current,
    ...(limits ? { limits } : {}),
    ...(identifyAll ? { identifyAll } : {}),
    ...(chunks ? { chunks } : {}),
  });
  pipeline.onAssignment([{ topic: "posts", partition: 0 }]);
  return { pipeline, classifier, dedup, sink, source, counters };
}

function message(offset: number, value: string | null, timestamp = "1767225600000"): ConsumedRecord {
  return {
    key: Buffer.from("k"),
    value: value === null ? null : Buffer.from(value),
    offset: String(offset),
    timestamp,
    headers: {},
  };
}

const post = (offset: number, timestamp?: string) =>
  message(offset, JSON.stringify({ id: `id-${offset}`, text: "good" }), timestamp);

function batch(messages: ConsumedRecord[], signal = new AbortController().signal): PartitionChunk {
  return {
    topic: "posts",
    partition: 0,
    messages,
    highWatermark: String(Number(messages[messages.length - 1]?.offset ?? 0) + 1),
    // As the source says it: the last record's + 1.
    nextOffset: String(Number(messages[messages.length - 1]?.offset ?? 0) + 1),
    isStale: () => false,
    isRunning: () => true,
    signal,
    commitOffset: async () => {},
  };
}

describe("the Kafka pipeline's per-chunk decisions", () => {
  it("fences and re-checks the committed offset before the first batch of an assignment", async () => {
    const { pipeline, sink, source } = parts();
    source.committed = "5";
    assert.equal(await pipeline.handle(batch([post(3), post(4), post(5)])), "abandoned");
    assert.deepEqual(source.seeks, ["5"]);
    assert.equal(sink.acquired, 1);
    assert.equal(await pipeline.handle(batch([post(5), post(6)])), "processed");
    assert.equal(sink.acquired, 1);
    assert.equal(sink.outputs[0]?.nextOffset, "7");
  });

  it("a commit with no answer that did commit: claims confirmed, batch processed", async () => {
    const { pipeline, sink, source, dedup } = parts();
    source.committed = "0";
    sink.fail = new CommitOutcomeUnknownError("no answer", new Error("Connection closed"));
    // Read at the takeover, then after fencing again: here the commit went through.
    source.next.push("0", "2");
    assert.equal(await pipeline.handle(batch([post(0), post(1)])), "processed");
    assert.deepEqual(dedup.confirmed, ["id-0", "id-1"]);
    assert.deepEqual(dedup.released, []);
    assert.equal(sink.acquired, 2);
  });

  it("a commit with no answer that did not commit: claims released, read again from the committed offset", async () => {
    const { pipeline, sink, source, dedup, counters } = parts();
    source.committed = "0";
    sink.fail = new CommitOutcomeUnknownError("no answer", new Error("Connection closed"));
    assert.equal(await pipeline.handle(batch([post(0), post(1)])), "abandoned");
    assert.deepEqual(dedup.released, ["id-0", "id-1"]);
    assert.deepEqual(dedup.confirmed, []);
    assert.deepEqual(source.seeks, ["0"]);
    assert.equal(sink.acquired, 2);
    assert.equal(counters.events, 0);
    // A commit that got no answer may have been prepared: what the id left open is aborted.
    assert.deepEqual(sink.sweeps, ["0@0"]);
  });

  it("sweeps a partition at its next fencing after a failed transaction, and not on a plain assignment", async () => {
    const { pipeline, sink, source } = parts();
    source.committed = "0";
    assert.equal(await pipeline.handle(batch([post(0)])), "processed");
    assert.deepEqual(sink.sweeps, []);
    source.committed = "1";
    sink.fail = new Error("the transaction failed");
    await assert.rejects(pipeline.handle(batch([post(1)])));
    assert.equal(await pipeline.handle(batch([post(1)])), "processed");
    assert.deepEqual(sink.sweeps, ["0@1"]);
  });

  it("a commit the broker acknowledged but left open (offset behind it): swept, read again, tagged again past de-duplication", async () => {
    const { pipeline, sink, source, dedup, counters } = parts();
    dedup.remembers = true;
    source.committed = "0";
    // Offset 2 repeats id-0: a duplicate, then and when read again.
    const repeat = message(2, JSON.stringify({ id: "id-0", text: "good" }));
    assert.equal(await pipeline.handle(batch([post(0), post(1), repeat])), "processed");
    assert.deepEqual(dedup.confirmed, ["id-0", "id-1"]);
    // A broker restart later: the next transaction fails, and the broker's offset is still 0.
    sink.fail = new Error("connection refused");
    await assert.rejects(pipeline.handle(batch([post(3)])));
    assert.equal(await pipeline.handle(batch([post(3)])), "abandoned");
    assert.deepEqual(source.seeks, ["0"]);
    assert.deepEqual(sink.sweeps, ["0@0"]);
    // Read again from 0: the two are tagged again although Redis has them as seen, the repeat is
    // still a duplicate, and a record never tagged goes through de-duplication as usual.
    assert.equal(await pipeline.handle(batch([post(0), post(1), repeat, post(3)])), "processed");
    const last = sink.outputs[sink.outputs.length - 1];
    assert.equal(last?.events.length, 3);
    assert.equal(last?.nextOffset, "4");
    assert.equal(counters.events, 5);
    // Once past the lost commit, de-duplication is as before.
    assert.equal(await pipeline.handle(batch([post(1)])), "processed");
    assert.equal(sink.outputs[sink.outputs.length - 1]?.events.length, 0);
  });

  it("a fenced commit: claims released, and the partition is fenced and re-checked before its next batch", async () => {
    const { pipeline, sink, source, dedup } = parts();
    source.committed = "0";
    sink.fail = new FencedError("fenced");
    assert.equal(await pipeline.handle(batch([post(0), post(1)])), "abandoned");
    assert.deepEqual(dedup.released, ["id-0", "id-1"]);
    assert.equal(sink.acquired, 1);
    assert.equal(await pipeline.handle(batch([post(0), post(1)])), "processed");
    assert.equal(sink.acquired, 2);
  });

  it("any other failed commit re-fences the partition before its next batch", async () => {
    const { pipeline, sink, source } = parts();
    source.committed = "0";
    sink.fail = new Error("the transaction failed");
    await assert.rejects(pipeline.handle(batch([post(0)])));
    await pipeline.handle(batch([post(0)]));
    assert.equal(sink.acquired, 2);
  });

  it("at-least-once: outputs written but the offset not committed keep their claims and read the batch again", async () => {
    const { pipeline, sink, dedup, counters } = parts("at-least-once");
    sink.fail = new OffsetCommitError("not committed", new Error("REBALANCE_IN_PROGRESS"));
    assert.equal(await pipeline.handle(batch([post(0), post(1)])), "abandoned");
    assert.deepEqual(dedup.confirmed, ["id-0", "id-1"]);
    assert.deepEqual(dedup.released, []);
    assert.equal(counters.events, 2);
    assert.equal(sink.acquired, 0);
  });

  it("a batch still inferring when the drain signal aborts is abandoned uncommitted, its claims released", async () => {
    const { pipeline, sink, source, classifier, dedup } = parts();
    source.committed = "0";
    classifier.hold();
    const drain = new AbortController();
    const handling = pipeline.handle(batch([post(0), post(1)], drain.signal));
    setTimeout(() => drain.abort(), 50);
    assert.equal(await handling, "abandoned");
    assert.equal(sink.outputs.length, 0);
    assert.deepEqual(dedup.released, ["id-0", "id-1"]);
  });

  it("any record timestamp gives an event: one a date cannot hold keeps its raw value", async () => {
    const { pipeline, sink, source } = parts();
    source.committed = "0";
    assert.equal(await pipeline.handle(batch([post(0, "9000000000000000"), post(1, "-1"), post(2)])), "processed");
    const events = (sink.outputs[0]?.events ?? []).map((m: ProducedRecord) => JSON.parse(String(m.value)));
    assert.deepEqual(
      events.map((e) => e.source),
      [
        { topic: "posts", partition: 0, offset: "0", timestamp: "", timestampMs: "9000000000000000" },
        { topic: "posts", partition: 0, offset: "1", timestamp: "", timestampMs: "-1" },
        {
          topic: "posts",
          partition: 0,
          offset: "2",
          timestamp: "2026-01-01T00:00:00.000Z",
          timestampMs: "1767225600000",
        },
      ],
    );
  });

  it("an event larger than the output topic takes becomes an OUTPUT_TOO_LARGE dead letter; dead letters are cut to fit", async () => {
    const { pipeline, sink, source, counters } = parts(
      "exactly-once",
      { eventBytes: 1000, deadLetterBytes: 4000 },
      true,
    );
    source.committed = "0";
    const long = JSON.stringify({ id: "long", text: "good ".repeat(300) });
    const huge = "{".repeat(8000);
    assert.equal(await pipeline.handle(batch([post(0), message(1, long), message(2, huge)])), "processed");
    const out = sink.outputs[0] as PartitionOutput;
    assert.equal(out.events.length, 1);
    const codes = out.deadLetters.map((d) => String(d.headers?.[HEADERS.errorCode]));
    assert.deepEqual(codes, ["OUTPUT_TOO_LARGE", "INVALID_JSON"]);
    assert.equal(String(out.deadLetters[0]?.value), long);
    const cut = out.deadLetters[1] as ProducedRecord;
    assert.equal(String(cut.headers?.[HEADERS.truncated]), "value");
    assert.equal(String(cut.headers?.[HEADERS.originalValueBytes]), "8000");
    assert.ok((cut.value as Buffer).length < 4000);
    assert.deepEqual(counters.deadLetters, { OUTPUT_TOO_LARGE: 1, INVALID_JSON: 1 });
  });
  it("counts records whose language field is no language tag once their batch is committed, and detects their language", async () => {
    const { pipeline, sink, source, counters } = parts("exactly-once", undefined, false, async (texts) =>
      texts.map(() => ({ lang: "fr", confidence: 0.5 })),
    );
    source.committed = "0";
    const withLang = (offset: number, lang: string) =>
      message(offset, JSON.stringify({ id: `id-${offset}`, text: "good", lang }));
    const records = [withLang(0, "x".repeat(5000)), withLang(1, "\ud800"), withLang(2, "en\u0000"), withLang(3, "de")];
    sink.fail = new FencedError("fenced");
    assert.equal(await pipeline.handle(batch(records)), "abandoned");
    assert.equal(counters.inputLangIgnored, 0, "not counted before its outputs are committed");
    assert.equal(await pipeline.handle(batch(records)), "processed");
    assert.equal(counters.inputLangIgnored, 3);
    const langs = (sink.outputs.at(-1)?.events ?? []).map((e) => {
      const event = JSON.parse(String(e.value)) as { lang?: string; langSource?: string };
      return `${event.lang}/${event.langSource}`;
    });
    assert.deepEqual(langs, ["fr/detected", "fr/detected", "fr/detected", "de/input"]);
  });

  it("a record with more headers than input.maxHeaders becomes a TOO_MANY_HEADERS dead letter without them", async () => {
    const { pipeline, sink, source, counters } = parts();
    source.committed = "0";
    const bomb = { ...post(1), headers: { h0: Buffer.alloc(0), h1: Buffer.alloc(0) }, headerCount: 30_000 };
    assert.equal(await pipeline.handle(batch([post(0), bomb, post(2)])), "processed");
    const out = sink.outputs[0] as PartitionOutput;
    assert.equal(out.events.length, 2);
    assert.deepEqual(
      out.deadLetters.map((d) => [
        d.headers?.[HEADERS.errorCode],
        d.headers?.[HEADERS.originalHeaderCount],
        d.headers?.h0,
      ]),
      [["TOO_MANY_HEADERS", "30000", undefined]],
    );
    assert.deepEqual(counters.deadLetters, { TOO_MANY_HEADERS: 1 });
  });

  it("takes the languages identified elsewhere for the chunk, once per text, and identifies here when that fails", async () => {
    const asked: string[][] = [];
    const elsewhere = parts("exactly-once", undefined, false, async (texts) => {
      asked.push([...texts]);
      return texts.map(() => ({ lang: "fr", confidence: 0.5 }));
    });
    const withLang = message(3, JSON.stringify({ id: "id-3", text: "good", lang: "de" }));
    assert.equal(await elsewhere.pipeline.handle(batch([post(1), post(2), withLang])), "processed");
    // "good" twice without a language: asked once; the record with its own language is not asked.
    assert.deepEqual(asked, [["good"]]);
    const langs = (elsewhere.sink.outputs[0]?.events ?? []).map((e) => {
      const event = JSON.parse(String(e.value)) as { lang?: string; langSource?: string };
      return `${event.lang}/${event.langSource}`;
    });
    assert.deepEqual(langs, ["fr/detected", "fr/detected", "de/input"]);

    const failing = parts("exactly-once", undefined, false, async () => {
      throw new Error("the language thread is gone");
    });
    const english = message(1, JSON.stringify({ id: "id-1", text: "What a wonderful day it has been today" }));
    assert.equal(await failing.pipeline.handle(batch([english])), "processed");
    const event = JSON.parse(String(failing.sink.outputs[0]?.events[0]?.value)) as { lang?: string };
    assert.equal(event.lang, "en");
  });
});

describe("a partition's chunk behind another still in flight (kafka.chunksInFlight 2)", () => {
  /** A promise settled by the test: the chunk before's outcome. */
  function pending() {
    let settle: (committed: boolean) => void = () => {};
    const promise = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    return { promise, settle };
  }

  it("is claimed and inferred at once, tells the source it claimed, and commits only once the chunk before was committed", async () => {
    const { pipeline, sink, source, dedup } = parts();
    source.committed = "0";
    assert.equal(await pipeline.handle(batch([post(0), post(1)])), "processed");
    const before = pending();
    let claimedAt = -1;
    const handling = pipeline.handle({
      ...batch([post(2), post(3)]),
      previous: before.promise,
      claimed: () => {
        claimedAt = sink.outputs.length;
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(claimedAt, 1, "claimed before the chunk before settled");
    assert.equal(sink.outputs.length, 1, "no commit before the chunk before's");
    before.settle(true);
    assert.equal(await handling, "processed");
    assert.deepEqual(
      sink.outputs.map((o) => o.nextOffset),
      ["2", "4"],
    );
    assert.deepEqual(dedup.confirmed, ["id-0", "id-1", "id-2", "id-3"]);
  });

  it("is abandoned before its commit, its claims released, when the chunk before was not committed", async () => {
    for (const delivery of ["exactly-once", "at-least-once"] as const) {
      const { pipeline, sink, source, dedup, counters } = parts(delivery);
      source.committed = "2";
      const before = pending();
      const handling = pipeline.handle({ ...batch([post(2), post(3)]), previous: before.promise });
      before.settle(false);
      assert.equal(await handling, "abandoned", delivery);
      assert.deepEqual(sink.outputs, [], delivery);
      assert.deepEqual(dedup.released, ["id-2", "id-3"], delivery);
      assert.deepEqual(dedup.confirmed, [], delivery);
      assert.equal(counters.events, 0, delivery);
    }
  });

  it("tells the chunk sizer its time from when the chunk before ended, not from its own start", async () => {
    const recorded: number[] = [];
    const { pipeline, source } = parts("exactly-once", undefined, false, undefined, {
      record: (_, ms) => recorded.push(ms),
    });
    source.committed = "0";
    const before = pending();
    const handling = pipeline.handle({ ...batch([post(0), post(1)]), previous: before.promise });
    await new Promise((resolve) => setTimeout(resolve, 300));
    before.settle(true);
    assert.equal(await handling, "processed");
    assert.equal(recorded.length, 1);
    assert.ok((recorded[0] as number) < 150, `${recorded[0]} ms, not the 300 ms it waited behind the chunk before`);
  });

  it("is abandoned, its claims released, when the drain signal aborts while it waits for the chunk before", async () => {
    const { pipeline, sink, source, dedup } = parts();
    source.committed = "0";
    const drain = new AbortController();
    const handling = pipeline.handle({ ...batch([post(0)], drain.signal), previous: pending().promise });
    setTimeout(() => drain.abort(), 30);
    assert.equal(await handling, "abandoned");
    assert.deepEqual(sink.outputs, []);
    assert.deepEqual(dedup.released, ["id-0"]);
  });
});
