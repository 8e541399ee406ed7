/** The file source's in-memory de-duplication: TTL, and a bound in bytes, oldest forgotten first. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryDeduplicator } from "../../src/dedup/memory-dedup.js";

describe("MemoryDeduplicator", () => {
  it("skips an id seen within the TTL, and claims it again after", async () => {
    let now = 1_000;
    const dedup = new MemoryDeduplicator(10_000, { now: () => now });
    assert.deepEqual(await dedup.claim(["a", "b", "a"]), [true, true, false]);
    now += 9_999;
    assert.deepEqual(await dedup.claim(["a"]), [false]);
    now += 1;
    assert.deepEqual(await dedup.claim(["a", "b"]), [true, true]);
  });

  it("remembers at most maxBytes of ids, forgetting the oldest first", async () => {
    const maxBytes = 1024 * 1024;
    const dedup = new MemoryDeduplicator(7 * 24 * 3600 * 1000, { maxBytes });
    // A long stdin run of unique ids, each a kilobyte: 20 MB of ids against a 1 MiB bound.
    const id = (n: number) => `${n}:`.padEnd(1000, "x");
    for (let n = 0; n < 20_000; n++) assert.deepEqual(await dedup.claim([id(n)]), [true]);
    assert.ok(dedup.bytesUsed <= maxBytes, `${dedup.bytesUsed} bytes remembered`);
    assert.ok(dedup.bytesUsed > maxBytes * 0.9, "it keeps as many as fit");
    // The newest are still remembered, the oldest forgotten.
    assert.deepEqual(await dedup.claim([id(19_999), id(19_100)]), [false, false]);
    assert.deepEqual(await dedup.claim([id(0)]), [true]);
  });

  it("counts an id's UTF-8 bytes, and frees an expired id's bytes", async () => {
    let now = 0;
    const dedup = new MemoryDeduplicator(1_000, { now: () => now, maxBytes: 10_000 });
    await dedup.claim(["é".repeat(1000)]);
    const one = dedup.bytesUsed;
    assert.ok(one >= 2000, "two bytes a character");
    now = 1_000;
    await dedup.claim(["é".repeat(1000)]);
    assert.equal(dedup.bytesUsed, one, "the expired claim's bytes were released");
    now = 2_000;
    await dedup.claim(["x"]);
    assert.ok(dedup.bytesUsed < one);
  });

  it("keeps ids repeated inside one claim as seen even past the bound", async () => {
    const dedup = new MemoryDeduplicator(60_000, { maxBytes: 100 });
    const big = "y".repeat(500);
    assert.deepEqual(await dedup.claim([big, big]), [true, false]);
    assert.ok(dedup.bytesUsed <= 100);
  });
});
