/**
 * A long adversarial stream must not grow the heap: unique 60 KB one-word texts, and unique short
 * words cut from 60 KB texts, through the tokenizer's word cache. Measured after a full GC.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Tokenizer } from "@huggingface/tokenizers";
import { TextTokenizer } from "../../src/inference/tokenizer.js";
import { speedUpWordPieces } from "../../src/inference/word-pieces.js";
import { TINY_MODEL_DIR } from "../helpers/fixtures.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const MB = 1024 * 1024;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Used after the measurement, so the optimiser cannot let the cache die before it. */
const kept: unknown[] = [];
const keepAlive = (value: unknown) => kept.push(value);

const json = (name: string) => JSON.parse(readFileSync(join(TINY_MODEL_DIR, name), "utf8")) as Record<string, unknown>;

/** The fixture's WordPiece model with the fast, cached `encode`. */
function fastModel(budgetBytes?: number) {
  const model = new Tokenizer(json("tokenizer.json"), json("tokenizer_config.json")).model;
  assert.ok(model);
  speedUpWordPieces(model, budgetBytes);
  return model;
}

describe("memory bounds of tokenizing", () => {
  it("stays flat over thousands of unique 60 KB one-word texts", () => {
    const tokenizer = TextTokenizer.fromFiles(
      join(TINY_MODEL_DIR, "tokenizer.json"),
      join(TINY_MODEL_DIR, "tokenizer_config.json"),
      512,
    );
    const long = "x".repeat(60_000);
    tokenizer.encode(`warm${long}`);
    const before = heapUsed();
    // 2,000 texts are 120 MB of words: kept by the cache, they would show at once.
    for (let n = 0; n < 2_000; n++) tokenizer.encode(`w${n}${long}`);
    const growth = heapUsed() - before;
    keepAlive(tokenizer);
    assert.ok(growth < 16 * MB, `the heap grew by ${(growth / MB).toFixed(1)} MB`);
  });

  it("does not keep a long text alive through a short word cut from it", () => {
    const model = fastModel();
    model.encode(["warm"]);
    const before = heapUsed();
    for (let n = 0; n < 2_000; n++) {
      // A slice, as the pre-tokenizer hands words over: V8 keeps the 60 KB text behind it.
      const text = `word${n}${"y".repeat(60_000)}`;
      model.encode([text.slice(0, 20)]);
    }
    const growth = heapUsed() - before;
    keepAlive(model);
    assert.ok(growth < 16 * MB, `the heap grew by ${(growth / MB).toFixed(1)} MB`);
  });

  it("keeps the word cache within its byte budget over unique cacheable words", () => {
    const model = fastModel(2 * MB);
    model.encode(["warm"]);
    const before = heapUsed();
    // 200,000 distinct 12-letter words, a few pieces each: 50,000 of them would be ~20 MB.
    for (let n = 0; n < 200_000; n++) model.encode([n.toString(36).padEnd(12, "e")]);
    const growth = heapUsed() - before;
    keepAlive(model);
    assert.ok(growth < 6 * MB, `the heap grew by ${(growth / MB).toFixed(1)} MB`);
  });
});
