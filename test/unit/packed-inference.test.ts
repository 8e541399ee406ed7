/**
 * Padding moved into the inference thread: a batch crosses as unpadded ids and comes back as
 * probabilities. The tensors the thread builds are today's `padBatch`'s, its probabilities those
 * of the session on the calling thread, and the classifier's packed path answers as the Python
 * reference does, whatever the batcher's reordering.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { SentimentClassifier } from "../../src/inference/classifier.js";
import { classifiedAt, packEncodings } from "../../src/inference/packed.js";
import { padBatch, padPacked } from "../../src/inference/padded-batch.js";
import { softmax, softmaxRows } from "../../src/inference/postprocess.js";
import { type EncodedText, TextTokenizer } from "../../src/inference/tokenizer.js";
import { TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";
import { tinyBackends } from "../helpers/onnx-backends.js";
import { seededShuffle } from "../helpers/random.js";

const parity = tinyParity();
const _runtime = { executionProviders: ["cpu"], intraOpThreads: 1, interOpThreads: 1 };
const _onnxPath = join(TINY_MODEL_DIR, "model.onnx");
let corpus: EncodedText[];

/** The corpus shuffled into batches of 1 to 40 texts (long, short and truncated ones mixed). */
function batches(seed: number): EncodedText[][] {
  const order = seededShuffle(corpus, seed);
  const out: EncodedText[][] = [];
  for (let at = 0, size = 1; at < order.length; at += size, size = (size * 7) % 41 || 1)
    out.push(order.slice(at, at + size));
  return out;
}

before(async () => {
  const tokenizer = TextTokenizer.fromFile(join(TINY_MODEL_DIR, "tokenizer.json"), parity.maxLength);
  corpus = await tokenizer.encodeAll(parity.items.map((item) => item.text));
});

describe("padding packed ids", () => {
  it("builds exactly padBatch's tensors, for any batch and padding id", () => {
    for (const batch of batches(11)) {
      for (const padId of [0, 7]) {
        const { ids, starts } = packEncodings(batch);
        assert.deepEqual(padPacked({ ids, starts }, padId), padBatch(batch, padId));
      }
    }
  });
});

describe("probabilities from the inference thread", () => {
  const backends = tinyBackends();

  it("are the softmax of the calling thread's logits on padBatch, batches in flight together", async () => {
    const all = batches(12);
    const fromThread = await Promise.all(
      all.map((batch) => {
        const { ids, starts } = packEncodings(batch);
        return backends.threaded.scorePacked({ ids, starts });
      }),
    );
    for (const [i, batch] of all.entries()) {
      const expected = softmaxRows(await backends.inline.run(padBatch(batch)), 3);
      assert.deepEqual(fromThread[i]?.scores, expected, `batch ${i} of ${batch.length}`);
      assert.ok((fromThread[i]?.runMs ?? -1) >= 0);
    }
  });

  it("takes the batch's buffers (transferred, not copied)", async () => {
    const { ids, starts } = packEncodings(corpus.slice(0, 4));
    await backends.threaded.scorePacked({ ids, starts });
    assert.equal(ids.byteLength, 0);
    assert.equal(starts.byteLength, 0);
  });
});

describe("the classifier's packed path", () => {
  let classifier: SentimentClassifier;
  before(async () => {
    const config = loadConfig({
      env: {},
      flags: { "model.dir": TINY_MODEL_DIR, "batching.maxBatchSize": "8", "batching.maxWaitMs": "1" },
    });
    classifier = await SentimentClassifier.load(config);
  });
  after(async () => classifier?.close());

  it("scores every text as the Python reference does (within 1e-4), in chunk order, chunks in flight together", async () => {
    const texts = parity.items.map((item) => item.text);
    const chunks: { from: number; texts: string[] }[] = [];
    for (let at = 0; at < texts.length; at += 50) chunks.push({ from: at, texts: texts.slice(at, at + 50) });
    const results = await Promise.all(
      chunks.map(async ({ from, texts }) => {
        const encoded = await classifier.encodePacked(texts);
        return { from, encoded, scored: await classifier.classifyPacked(encoded) };
      }),
    );
    let worst = 0;
    for (const { from, encoded, scored } of results) {
      for (let i = 0; i < encoded.starts.length - 1; i++) {
        const item = parity.items[from + i] as (typeof parity.items)[number];
        const want = softmax(item.logits);
        const got = classifiedAt(scored, encoded, i, classifier.model.labels);
        assert.equal(got.truncated, item.truncated, item.id);
        for (const [l, label] of classifier.model.labels.entries())
          worst = Math.max(worst, Math.abs((got.scores[label] as number) - (want[l] as number)));
      }
    }
    assert.ok(worst < 1e-4, `largest score difference ${worst}`);
  });
});
