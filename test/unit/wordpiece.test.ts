/**
 * The JavaScript BERT encoder against the Rust library it stands in for: the same ids and
 * truncation flags on the corpus, on random text from every Unicode plane, at the word-length limit,
 * around special tokens and removed characters; the committed character table matches the installed
 * library; any other tokenizer shape is left to the library.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Tokenizer } from "tokenizers";
import { bertCharClasses, readCharClasses, toRuns } from "../../src/inference/char-classes.js";
import { TextTokenizer } from "../../src/inference/tokenizer.js";
import { TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { seededRandom } from "../helpers/random.js";

const TOKENIZER = join(TINY_MODEL_DIR, "tokenizer.json");

/** Both encoders' answers for the texts, with the texts whose answers differ. */
async function compare(texts: string[], maxLength = 512) {
  const ours = TextTokenizer.fromFile(TOKENIZER, maxLength);
  const rust = TextTokenizer.fromFile(TOKENIZER, maxLength, { rustOnly: true });
  assert.equal(ours.encoder, "wordpiece-js");
  assert.equal(rust.encoder, "tokenizers");
  const [a, b] = await Promise.all([ours.encodeAll(texts), rust.encodeAll(texts)]);
  return texts.filter((_, i) => JSON.stringify(a[i]) !== JSON.stringify(b[i]));
}

/** Text from every plane: ASCII, Latin to CJK, emoji, anything, lone surrogates and the characters that matter. */
function randomTexts(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const special = [0x20, 0x0a, 0x09, 0x0b, 0x200b, 0x5b, 0x5d, 0x3000, 0xfffd, 0, 0xad, 0x85, 0xa0, 0xe000];
  const texts: string[] = [];
  for (let t = 0; t < count; t++) {
    let text = "";
    for (let n = 1 + pick(60); n > 0; n--) {
      const r = random();
      const cp =
        r < 0.3
          ? 0x20 + pick(0x5f)
          : r < 0.5
            ? pick(0x3000)
            : r < 0.7
              ? pick(0x10000)
              : r < 0.8
                ? 0x1f300 + pick(0x800)
                : r < 0.9
                  ? pick(0x110000)
                  : (special[pick(special.length)] as number);
      text += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    }
    texts.push(text);
  }
  return texts;
}

describe("the JavaScript BERT encoder", () => {
  it("gives the Rust library's ids on every corpus text", async () => {
    assert.deepEqual(await compare(tinyTexts()), []);
  });

  it("gives the Rust library's ids on random text from every plane, whole and truncated", async () => {
    const texts = randomTexts(5000, 20261202);
    assert.deepEqual(await compare(texts), []);
    assert.deepEqual(await compare(texts.slice(0, 1000), 12), []);
  });

  it("agrees at the word-length limit, around special tokens and removed characters", async () => {
    const texts = [
      "a".repeat(100),
      "a".repeat(101),
      "é".repeat(101),
      "😀".repeat(100),
      "😀".repeat(101),
      `${"😀".repeat(600)}`,
      "x[SEP]y [CLS][UNK]z",
      "[[SEP]]",
      "[MASK",
      "[SEP",
      "ab\u200bcd",
      "ab\u0000cd ef\ufffdgh",
      "\ud83d",
      "x\ude00y",
      "混合テキスト and 中文",
      "",
      "   ",
    ];
    assert.deepEqual(await compare(texts), []);
    assert.deepEqual(await compare(texts, 4), []);
  });

  it("has the character table of the installed library", () => {
    const tokenizer = Tokenizer.fromFile(TOKENIZER);
    const normalizer = tokenizer.getNormalizer();
    const preTokenizer = tokenizer.getPreTokenizer();
    assert.ok(normalizer && preTokenizer);
    const installed = toRuns(readCharClasses(normalizer, preTokenizer));
    assert.deepEqual(
      toRuns(bertCharClasses()),
      installed,
      "the table is stale: run `npm run build && node scripts/bert-char-classes.mjs`",
    );
  });

  it("leaves any other tokenizer shape to the Rust library", () => {
    const json = JSON.parse(readFileSync(TOKENIZER, "utf8"));
    json.normalizer.lowercase = true;
    const path = join(mkdtempSync(join(tmpdir(), "sw-wordpiece-")), "tokenizer.json");
    writeFileSync(path, JSON.stringify(json));
    assert.equal(TextTokenizer.fromFile(path, 512).encoder, "tokenizers");
  });
});
