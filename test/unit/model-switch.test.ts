/**
 * A model switch inside the chunk pipeline, with fakes around it: a batch in flight finishes on
 * the model it started with (its events carry that revision, its claims are confirmed in that
 * revision's de-duplication), new batches use the new model, the old one is closed only after its
 * last batch, and `onCommitted` sees each chunk's tagged messages after the commit.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConsumedRecord, PartitionChunk } from "../../src/consumers/chunk-source.js";
import type { ClaimingDeduplicator, ClaimOutcome } from "../../src/dedup/dedup.js";
import { ModelSlot } from "../../src/inference/model-slot.js";
import { ChunkPipeline } from "../../src/pipeline/chunk-pipeline.js";
import { exactlyOnce } from "../../src/pipeline/delivery.js";
import type { CommittedTag } from "../../src/pipeline/ports.js";
import { RunCounters } from "../../src/pipeline/run-counters.js";
import type { PartitionOutput, PartitionSink } from "../../src/sinks/kafka/partition-sink.js";
import { FakeClassifier, kafkaJobConfig, quietTelemetry } from "../helpers/processor-fakes.js";

const config = kafkaJobConfig;
const quiet = quietTelemetry();

class FakeDedup implements ClaimingDeduplicator {
  readonly confirmed: string[] = [];
  readonly results = undefined;
  closed = false;
  async claimDetailed(ids: readonly string[]): Promise<ClaimOutcome[]> {
    return ids.map(() => "new");
  }
  async confirm(ids: readonly string[]): Promise<void> {
    this.confirmed.push(...ids);
  }
  async release(): Promise<void> {}
}

class FakeSink implements PartitionSink {
  readonly outputs: PartitionOutput[] = [];
  async acquire(): Promise<void> {}
  async sweep(): Promise<void> {}
  async commit(output: PartitionOutput): Promise<void> {
    this.outputs.push(output);
  }
  async release(): Promise<void> {}
  async close(): Promise<void> {}
}

function tagging(revision: string) {
  // A model of its own revision that can hold its answers (a batch in flight).
  const model = new FakeClassifier(revision);
  const dedup = new FakeDedup();
  const value = { classifier: model, dedup };
  return { model, dedup, value };
}

const post = (offset: number, id: string): ConsumedRecord => ({
  key: Buffer.from(id),
  value: Buffer.from(JSON.stringify({ id, text: "good" })),
  offset: String(offset),
  timestamp: "1767225600000",
  headers: {},
});

function batch(partition: number, messages: ConsumedRecord[]): PartitionChunk {
  return {
    topic: "posts",
    partition,
    messages,
    highWatermark: "100",
    nextOffset: String(Number(messages[messages.length - 1]?.offset ?? 0) + 1),
    isStale: () => false,
    isRunning: () => true,
    signal: new AbortController().signal,
    commitOffset: async () => {},
  };
}

const revisions = (output: PartitionOutput | undefined) =>
  (output?.events ?? []).map((e) => (JSON.parse(String(e.value)) as { model: { revision: string } }).model.revision);

describe("a model switch in the chunk pipeline", () => {
  it("finishes a batch in flight on its model, starts new ones on the new model, closes the old one after", async () => {
    const a = tagging("r1");
    const b = tagging("r2");
    const slot = new ModelSlot(a.value, async (v) => {
      v.classifier.closed = true;
    });
    const sink = new FakeSink();
    const committed: CommittedTag[][] = [];
    const processor = new ChunkPipeline({
      config,
      delivery: exactlyOnce({
        sink,
        source: { committedOffset: async () => undefined, seek: () => {} },
        logger: quiet.current.logger,
      }),
      counters: new RunCounters(),
      workerVersion: "test",
      telemetry: quiet.current,
      tagging: () => slot.acquire(),
      onCommitted: () => (tags) => void committed.push([...tags]),
    });
    processor.onAssignment([
      { topic: "posts", partition: 0 },
      { topic: "posts", partition: 1 },
    ]);
    a.model.hold();
    const inFlight = processor.handle(batch(0, [post(0, "old-1"), post(1, "old-2")]));
    while (a.model.submitted.length < 2) await new Promise((r) => setImmediate(r));

    const { whenRetired } = slot.replace(b.value);
    try {
      assert.equal(await processor.handle(batch(1, [post(0, "new-1")])), "processed");
      assert.deepEqual(revisions(sink.outputs[0]), ["r2"]);
      assert.deepEqual(b.dedup.confirmed, ["new-1"]);
      assert.equal(a.model.closed, false, "the old model serves its batch in flight");
    } catch (error) {
      // Let the held batch end (its heartbeat timer would keep the test process alive).
      a.model.release();
      await inFlight;
      throw error;
    }

    a.model.release();
    assert.equal(await inFlight, "processed");
    assert.deepEqual(revisions(sink.outputs[1]), ["r1", "r1"]);
    assert.deepEqual(a.dedup.confirmed, ["old-1", "old-2"], "claims confirmed in the old revision's keys");
    await whenRetired;
    assert.equal(a.model.closed, true);
    assert.equal(b.model.closed, false);
    assert.deepEqual(
      committed.map((tags) => tags.map((t) => `${t.event.id}@${t.event.model.revision}:${t.text}`)),
      [["new-1@r2:good"], ["old-1@r1:good", "old-2@r1:good"]],
    );
  });
});
