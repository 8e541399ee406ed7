/**
 * The TypeScript inference path against the Python reference (transformers + tokenizers) on the
 * committed multilingual corpus: identical token ids, logits within 1e-4, and batching that never
 * changes an answer.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { OnnxBackend } from "../../src/inference/onnx-backend.js";
import { padBatch } from "../../src/inference/padded-batch.js";
import { softmax } from "../../src/inference/postprocess.js";
import { type EncodedText, TextTokenizer } from "../../src/inference/tokenizer.js";
import { TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";
import { seededShuffle } from "../helpers/random.js";

const parity = tinyParity();
const runtime = { executionProviders: ["cpu"], intraOpThreads: 1, interOpThreads: 1 };
let tokenizer: TextTokenizer;
let backend: OnnxBackend;
/** Every corpus text's encoding, in corpus order (one `encodeAll`, as a chunk is encoded). */
let corpus: EncodedText[];
const encodedOf = (item: (typeof parity.items)[number]) => corpus[parity.items.indexOf(item)] as EncodedText;

before(async () => {
  tokenizer = TextTokenizer.fromFile(join(TINY_MODEL_DIR, "tokenizer.json"), parity.maxLength);
  corpus = await tokenizer.encodeAll(parity.items.map((item) => item.text));
  backend = await OnnxBackend.load(join(TINY_MODEL_DIR, "model.onnx"), parity.labels.length, runtime);
});
after(async () => backend?.close());

describe("tokenizer parity with the Python reference", () => {
  it("has a corpus of 12 languages with at least 30 texts each, and special cases", () => {
    const perLang = new Map<string, number>();
    for (const item of parity.items) perLang.set(item.lang, (perLang.get(item.lang) ?? 0) + 1);
    for (const lang of ["en", "ar", "de", "es", "fr", "ja", "zh", "id", "hi", "it", "ms", "pt"]) {
      assert.ok((perLang.get(lang) ?? 0) >= 30, `${lang}: ${perLang.get(lang)}`);
    }
    assert.ok(parity.items.filter((i) => i.truncated).length >= 2, "texts past the maximum length");
  });

  it("gives identical token ids on every text of the corpus, truncation included", () => {
    const mismatches = parity.items.filter((item) => {
      const encoded = encodedOf(item);
      return JSON.stringify(encoded.ids) !== JSON.stringify(item.ids) || encoded.truncated !== item.truncated;
    });
    assert.deepEqual(
      mismatches.map((m) => m.id),
      [],
      "texts whose ids differ from the reference",
    );
  });

  it("encodes a text alone as it does inside a chunk", async () => {
    for (const item of parity.items.filter((_, i) => i % 20 === 0 || _.truncated)) {
      const [alone] = await tokenizer.encodeAll([item.text]);
      assert.deepEqual(alone, encodedOf(item), item.id);
    }
    assert.deepEqual(await tokenizer.encodeAll([]), []);
  });

  it("cuts long texts to maxLength with [CLS] first and [SEP] last", () => {
    const long = parity.items.filter((i) => i.truncated);
    for (const item of long) {
      const encoded = encodedOf(item);
      assert.equal(encoded.tokens, parity.maxLength);
      assert.equal(encoded.ids[0], 101);
      assert.equal(encoded.ids.at(-1), 102);
      assert.ok(item.fullLength > parity.maxLength);
    }
  });
});

describe("model parity with the Python reference (tiny fixture, fp32)", () => {
  it("gives logits within 1e-4 of PyTorch for every text, one at a time", async () => {
    let worst = 0;
    for (const item of parity.items) {
      const logits = await backend.run(padBatch([encodedOf(item)]));
      for (let k = 0; k < logits.length; k++)
        worst = Math.max(worst, Math.abs((logits[k] as number) - (item.logits[k] as number)));
    }
    assert.ok(worst < 1e-4, `largest logit difference ${worst}`);
  });

  it("gives the same scores alone or inside any batch, in any order, with any padding", async () => {
    const encoded = corpus;
    const alone: Float64Array[] = [];
    for (const e of encoded) alone.push(softmax(await backend.run(padBatch([e]))));
    for (const [seed, size] of [
      [1, 7],
      [2, 32],
      [3, 64],
    ] as const) {
      const order = seededShuffle(
        encoded.map((e, i) => ({ e, i })),
        seed,
      );
      for (let start = 0; start < order.length; start += size) {
        const chunk = order.slice(start, start + size);
        const logits = await backend.run(padBatch(chunk.map((c) => c.e as EncodedText)));
        chunk.forEach((c, row) => {
          const scores = softmax(logits, row * 3, 3);
          for (let k = 0; k < 3; k++) {
            const diff = Math.abs((scores[k] as number) - (alone[c.i]?.[k] as number));
            assert.ok(diff < 1e-5, `${parity.items[c.i]?.id} in a batch of ${chunk.length}: score differs by ${diff}`);
          }
        });
      }
    }
  });
});
