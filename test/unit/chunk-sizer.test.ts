/** Chunk sizes that follow what chunks take: towards the target time, within bounds, steadily. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChunkSizer } from "../../src/pipeline/chunk-sizer.js";

const options = { targetMs: 1000, min: 16, max: 8192, initial: 256 };

/** Runs chunks whose time is `msPerRecord` each (plus a fixed cost), returns the sizes chosen. */
function run(sizer: ChunkSizer, msPerRecord: number, fixedMs = 0, chunks = 20): number[] {
  const sizes: number[] = [];
  for (let i = 0; i < chunks; i++) {
    const size = sizer.size;
    sizes.push(size);
    sizer.record(size, fixedMs + size * msPerRecord);
  }
  return sizes;
}

describe("ChunkSizer", () => {
  it("grows towards the target for a fast model, at most quadrupling, up to the maximum", () => {
    const sizes = run(new ChunkSizer(options), 0.05, 20);
    // 256 records in 32.8 ms: 7,800 would fit 1000 ms; halfway (geometric mean) is 1,413, capped at 1,024.
    assert.equal(sizes[1], 1024);
    for (let i = 1; i < sizes.length; i++) assert.ok((sizes[i] as number) <= 4 * (sizes[i - 1] as number));
    // 1000 ms at 0.05 ms a record less the fixed 20 ms: about 19,600 records, past the maximum.
    assert.equal(sizes.at(-1), 8192);
  });

  it("settles where a chunk takes the target time", () => {
    const sizes = run(new ChunkSizer(options), 1, 0, 30);
    assert.ok(Math.abs((sizes.at(-1) as number) - 1000) <= 10, `settled at ${sizes.at(-1)}`);
  });

  it("shrinks to the minimum for a slow model (the CPU model with partitions sharing it)", () => {
    // 35 s for 256 records: the CPU model's pace.
    const sizes = run(new ChunkSizer(options), 136);
    assert.equal(sizes.at(-1), 16);
  });

  it("ignores a short, fast chunk (the fetch had no more) but heeds a short, slow one", () => {
    const sizer = new ChunkSizer(options);
    sizer.record(10, 1);
    assert.equal(sizer.size, 256);
    sizer.record(10, 5000);
    assert.ok(sizer.size < 256);
  });
});
