/** Outputs split into produce requests the broker accepts (kafkajs never splits a partition's record batch). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { messageBytes, requestChunks } from "../../src/sinks/kafka/request-chunks.js";

describe("produce request chunks", () => {
  it("keeps each request under the budget and every topic's messages in order", () => {
    const events = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: "e".repeat(100 + i) }));
    const letters = Array.from({ length: 5 }, (_, i) => ({ key: null, value: Buffer.alloc(300, i) }));
    const budget = 1500;
    const requests = requestChunks(
      [
        { topic: "events", messages: events },
        { topic: "letters", messages: letters },
      ],
      budget,
    );
    assert.ok(requests.length > 1);
    for (const request of requests) {
      const bytes = request.flatMap((t) => t.messages).reduce((sum, m) => sum + messageBytes(m), 0);
      assert.ok(bytes <= budget, `${bytes} bytes`);
    }
    const sent = (topic: string) =>
      requests.flatMap((r) => r.filter((t) => t.topic === topic).flatMap((t) => t.messages));
    assert.deepEqual(sent("events"), events);
    assert.deepEqual(sent("letters"), letters);
  });

  it("sends a record larger than the budget alone, and nothing for no outputs", () => {
    const big = { value: "x".repeat(5000) };
    assert.deepEqual(requestChunks([{ topic: "t", messages: [{ value: "a" }, big, { value: "b" }] }], 1000), [
      [{ topic: "t", messages: [{ value: "a" }] }],
      [{ topic: "t", messages: [big] }],
      [{ topic: "t", messages: [{ value: "b" }] }],
    ]);
    assert.deepEqual(requestChunks([]), []);
  });
});
