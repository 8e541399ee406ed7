/**
 * The at-least-once sink's producer rule: a producer whose send failed is never used again (its
 * sequence numbers may be behind what the broker wrote; see the sink's header). The broker side of
 * it is test/integration/broker-restart.test.ts; this pins the rule itself.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RecordProducer } from "../../src/kafka/client.js";
import { AtLeastOnceSink } from "../../src/sinks/kafka/at-least-once-sink.js";
import type { PartitionOutput } from "../../src/sinks/kafka/partition-sink.js";

/** Producers numbered in the order they were made; `failing` names the ones whose sends reject. */
function producers(failing: Set<number>) {
  const made: { id: number; sent: number; disconnected: boolean }[] = [];
  const factory = {
    producer: async (): Promise<RecordProducer> => {
      const entry = { id: made.length, sent: 0, disconnected: false };
      made.push(entry);
      return {
        send: async () => {
          if (failing.has(entry.id)) throw new Error(`producer ${entry.id}: the connection closed`);
          entry.sent++;
        },
        disconnect: async () => {
          entry.disconnected = true;
        },
      };
    },
  };
  return { made, factory };
}

function output(partition: number, committed: string[]): PartitionOutput {
  return {
    topic: "posts",
    partition,
    events: [{ key: `k${partition}`, value: "{}" }],
    deadLetters: [],
    nextOffset: "10",
    commitOffset: async (offset) => {
      committed.push(`${partition}@${offset}`);
    },
  };
}

describe("the at-least-once sink", () => {
  it("shares one producer while its sends succeed", async () => {
    const { made, factory } = producers(new Set());
    const sink = new AtLeastOnceSink(factory, { outputTopic: "out", deadLetterTopic: "dlq" });
    const committed: string[] = [];
    await Promise.all([sink.commit(output(0, committed)), sink.commit(output(1, committed))]);
    assert.equal(made.length, 1);
    assert.equal(made[0]?.sent, 2);
    assert.deepEqual(committed.sort(), ["0@10", "1@10"]);
    await sink.close();
    assert.equal(made[0]?.disconnected, true);
  });

  it("drops a producer whose send failed and commits no offset; the next commit gets a new producer", async () => {
    const { made, factory } = producers(new Set([0]));
    const sink = new AtLeastOnceSink(factory, { outputTopic: "out", deadLetterTopic: "dlq" });
    const committed: string[] = [];
    await assert.rejects(sink.commit(output(0, committed)), /connection closed/);
    assert.deepEqual(committed, []);
    await sink.commit(output(0, committed));
    assert.equal(made.length, 2, "a second producer");
    assert.equal(made[0]?.disconnected, true, "the failed one is disconnected");
    assert.equal(made[1]?.sent, 1);
    assert.deepEqual(committed, ["0@10"]);
    await sink.close();
  });
});
