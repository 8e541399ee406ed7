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

/** A promise that settles when released: a send that hangs until the test lets it go on. */
function gate(): { hanging: Promise<void>; release: () => void } {
  let release: () => void = () => {};
  const hanging = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { hanging, release };
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

  it("sends one request at a time, and a send that waited behind a failed one goes through a new producer", async () => {
    // Producer 0's first send hangs until released, then fails as a broker killed mid-request does.
    const { hanging, release } = gate();
    let inFlight = 0;
    let most = 0;
    const sends: string[] = [];
    const made: number[] = [];
    const factory = {
      producer: async (): Promise<RecordProducer> => {
        const id = made.length;
        made.push(id);
        return {
          send: async (request) => {
            most = Math.max(most, ++inFlight);
            try {
              const key = String(request[0]?.messages[0]?.key);
              sends.push(`${key} via ${id}`);
              if (id === 0 && sends.length === 1) {
                await hanging;
                throw new Error("the connection closed");
              }
            } finally {
              inFlight--;
            }
          },
          disconnect: async () => {},
        };
      },
    };
    const sink = new AtLeastOnceSink(factory, { outputTopic: "out", deadLetterTopic: "dlq" });
    const committed: string[] = [];
    const first = sink.commit(output(0, committed));
    const second = sink.commit(output(1, committed));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(sends, ["k0 via 0"], "the second waits for the first");
    release();
    await assert.rejects(first, /connection closed/);
    await second;
    assert.equal(most, 1);
    assert.deepEqual(sends, ["k0 via 0", "k1 via 1"]);
    assert.deepEqual(committed, ["1@10"]);
    await sink.close();
  });

  it("sends what waited behind a send as one request, within the request bound, and commits each", async () => {
    const { hanging, release } = gate();
    const requests: string[][] = [];
    const factory = {
      producer: async (): Promise<RecordProducer> => ({
        send: async (request) => {
          requests.push(request.flatMap((t) => t.messages.map((m) => `${t.topic}:${String(m.key)}`)));
          if (requests.length === 1) await hanging;
        },
        disconnect: async () => {},
      }),
    };
    const committed: string[] = [];
    // Each output here is one event of 68 bytes as the bound counts them: two fit in 150, three do not.
    const sink = new AtLeastOnceSink(factory, { outputTopic: "out", deadLetterTopic: "dlq", maxRequestBytes: 150 });
    const commits = [0, 1, 2, 3, 4].map((p) => sink.commit(output(p, committed)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await Promise.all(commits);
    assert.deepEqual(requests, [["out:k0"], ["out:k1", "out:k2"], ["out:k3", "out:k4"]]);
    assert.deepEqual(committed.sort(), ["0@10", "1@10", "2@10", "3@10", "4@10"]);
    await sink.close();
  });

  it("makes the broker's refusal of a dropped producer's sequence retriable, and other refusals not", async () => {
    const refusing = (type: string) => ({
      producer: async (): Promise<RecordProducer> => ({
        send: async () => {
          throw Object.assign(new Error(`refused: ${type}`), { type, retriable: false });
        },
        disconnect: async () => {},
      }),
    });
    const sink = new AtLeastOnceSink(refusing("OUT_OF_ORDER_SEQUENCE_NUMBER"), {
      outputTopic: "out",
      deadLetterTopic: "dlq",
    });
    await assert.rejects(sink.commit(output(0, [])), (error: Error & { retriable?: boolean }) => {
      assert.equal(error.retriable, true);
      assert.match(error.message, /OUT_OF_ORDER_SEQUENCE_NUMBER.*new producer/);
      return true;
    });
    const tooLarge = new AtLeastOnceSink(refusing("MESSAGE_TOO_LARGE"), { outputTopic: "out", deadLetterTopic: "dlq" });
    await assert.rejects(tooLarge.commit(output(0, [])), (error: Error & { retriable?: boolean }) => {
      assert.equal(error.retriable, false);
      return true;
    });
  });
});
