/**
 * A long adversarial stream must not grow the process: unique 60 KB one-word texts and unique
 * short words through the tokenizer. It is native code, so the resident set is what counts; two
 * passes warm the allocator's arenas (one per thread-pool thread), and a third pass of as many new
 * unique texts must then add little: a cache that kept them would grow by their size again.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { TextTokenizer } from "../../src/inference/tokenizer.js";
import { TINY_MODEL_DIR } from "../helpers/fixtures.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const MB = 1024 * 1024;

function rss(): number {
  gc();
  gc();
  return process.memoryUsage().rss;
}

/** RSS growth over the last of three passes of `chunks` unique chunks each (two warm the arenas). */
async function lastPassGrowth(chunks: number, chunk: (n: number) => string[]): Promise<number> {
  const tokenizer = TextTokenizer.fromFile(join(TINY_MODEL_DIR, "tokenizer.json"), 512);
  for (let n = 0; n < 2 * chunks; n++) await tokenizer.encodeAll(chunk(n));
  const before = rss();
  for (let n = 2 * chunks; n < 3 * chunks; n++) await tokenizer.encodeAll(chunk(n));
  return rss() - before;
}

describe("memory bounds of tokenizing", () => {
  it("stays flat over unique 60 KB one-word texts", async () => {
    const long = "x".repeat(60_000);
    // 600 texts, 36 MB of words, per pass: kept by a cache, they would show in the last pass.
    const growth = await lastPassGrowth(12, (n) => Array.from({ length: 50 }, (_, i) => `w${n}-${i}${long}`));
    assert.ok(growth < 18 * MB, `the last pass grew the process by ${(growth / MB).toFixed(1)} MB`);
  });

  it("stays flat over unique short words", async () => {
    // 200,000 distinct 12-letter words per pass: ~20 MB if each were kept with its pieces.
    const growth = await lastPassGrowth(200, (n) =>
      Array.from({ length: 1000 }, (_, i) => (n * 1000 + i).toString(36).padEnd(12, "e")),
    );
    assert.ok(growth < 8 * MB, `the last pass grew the process by ${(growth / MB).toFixed(1)} MB`);
  });
});
