/**
 * A long adversarial stream must not grow the process: unique 60 KB one-word texts and unique
 * short words through the tokenizer. It is native code, so the resident set is what counts; two
 * passes warm the allocator's arenas (one per thread-pool thread), and a third pass of as many new
 * unique texts must then add little: a cache that kept them would grow by their size again.
 *
 * Each measure runs in a process of its own whose V8 young generation is held at the size Node 20
 * gave it (`--max-semi-space-size=16`). Node 24's V8 lets the young generation grow with the
 * allocation rate (the JS heap's committed size 135 MB after the first short-word pass, against 37
 * on Node 20 and 39 with the flag), and its pages become resident a few MB per pass until it
 * plateaus, which a last-pass bound would otherwise read as the tokenizer keeping what it saw.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { REPO_ROOT, TINY_MODEL_DIR } from "../helpers/fixtures.js";

const MB = 1024 * 1024;

/**
 * RSS growth over the last of three passes of `chunks` unique chunks each (two warm the arenas);
 * `chunk` is the source of a function of the pass's chunk number giving its texts.
 */
function lastPassGrowth(chunks: number, chunk: string): number {
  const script = `
    const { setFlagsFromString } = await import("node:v8");
    const { runInNewContext } = await import("node:vm");
    const { TextTokenizer } = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, "dist/src/inference/tokenizer.js")).href)});
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc");
    const rss = () => (gc(), gc(), process.memoryUsage().rss);
    const chunk = ${chunk};
    const tokenizer = TextTokenizer.fromFile(${JSON.stringify(join(TINY_MODEL_DIR, "tokenizer.json"))}, 512);
    for (let n = 0; n < ${2 * chunks}; n++) await tokenizer.encodeAll(chunk(n));
    const before = rss();
    for (let n = ${2 * chunks}; n < ${3 * chunks}; n++) await tokenizer.encodeAll(chunk(n));
    console.log(rss() - before);
    process.exit(0);`;
  const child = spawnSync(process.execPath, ["--max-semi-space-size=16", "--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  assert.equal(child.status, 0, child.stderr);
  return Number(child.stdout.trim());
}

describe("memory bounds of tokenizing", () => {
  it("stays flat over unique 60 KB one-word texts", () => {
    // 600 texts, 36 MB of words, per pass: kept by a cache, they would show in the last pass.
    const growth = lastPassGrowth(
      12,
      '(n) => Array.from({ length: 50 }, (_, i) => "w" + n + "-" + i + "x".repeat(60_000))',
    );
    assert.ok(growth < 18 * MB, `the last pass grew the process by ${(growth / MB).toFixed(1)} MB`);
  });

  it("stays flat over unique short words", () => {
    // 200,000 distinct 12-letter words per pass: ~20 MB if each were kept with its pieces.
    const growth = lastPassGrowth(
      200,
      '(n) => Array.from({ length: 1000 }, (_, i) => (n * 1000 + i).toString(36).padEnd(12, "e"))',
    );
    assert.ok(growth < 8 * MB, `the last pass grew the process by ${(growth / MB).toFixed(1)} MB`);
  });
});
