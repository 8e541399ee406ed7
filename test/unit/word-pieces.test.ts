/** The faster WordPiece step gives the library's pieces for every word, edge cases included. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Tokenizer } from "@huggingface/tokenizers";
import { greedyWordPiece, speedUpWordPieces } from "../../src/inference/word-pieces.js";
import { TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";

const json = (name: string) => JSON.parse(readFileSync(join(TINY_MODEL_DIR, name), "utf8")) as Record<string, unknown>;

describe("greedy WordPiece", () => {
  it("splits every word of the corpus, and awkward words, as the library does", () => {
    const library = new Tokenizer(json("tokenizer.json"), json("tokenizer_config.json"));
    const model = library.model;
    assert.ok(model);
    const fast = greedyWordPiece(model);
    assert.ok(fast, "the fixture's model is a plain WordPiece");
    // The words exactly as the library's pre-tokenizer hands them to WordPiece.
    const words: string[] = [];
    const encode = model.encode.bind(model);
    model.encode = (batch: string[]) => {
      words.push(...batch);
      return encode(batch);
    };
    for (const item of tinyParity().items) library.encode(item.text, { add_special_tokens: false });
    model.encode = encode;
    const awkward = [
      ...["a".repeat(100), "a".repeat(101), "a".repeat(201), "😀".repeat(100), "😀".repeat(101), "a😀".repeat(67)],
      ...["😀😀x", "e\u0301te\u0301", "\u{10FFFF}", "##", "x##y", "Ω≈ç√"],
    ];
    assert.ok(words.length > 5000);
    for (const word of [...new Set(words), ...awkward]) assert.deepEqual(fast(word), encode([word]), word);
  });

  it("answers as the library from its cache too, across cache generations", () => {
    const words = [...new Set(tinyParity().items.flatMap((item) => item.text.toLowerCase().split(/\s+/)))];
    const reference = new Tokenizer(json("tokenizer.json"), json("tokenizer_config.json")).model;
    const model = new Tokenizer(json("tokenizer.json"), json("tokenizer_config.json")).model;
    assert.ok(reference && model);
    // A budget of a few hundred words, so the passes below go through every generation change.
    speedUpWordPieces(model, 64 * 1024);
    for (let pass = 0; pass < 3; pass++) {
      for (const word of words) assert.deepEqual(model.encode([word]), reference.encode([word]), word);
    }
    assert.deepEqual(model.encode(words.slice(0, 50)), reference.encode(words.slice(0, 50)));
  });
});
