/**
 * The zero-shot teacher against transformers' ZeroShotClassificationPipeline (multi_label=False,
 * "The sentiment of this text is {}.", positive/neutral/negative) on the committed corpus, all 12
 * languages and the texts past 512 tokens: identical pair ids, scores within 1e-4.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Config, loadConfig } from "../../src/config/index.js";
import { SentimentClassifier } from "../../src/inference/classifier.js";
import { resolveModel } from "../../src/inference/model/index.js";
import { isZeroShot } from "../../src/inference/model/model-kind.js";
import { PairTokenizer } from "../../src/inference/pair-tokenizer.js";
import { softmax } from "../../src/inference/postprocess.js";
import { loadTextClassifier, type TextClassifier } from "../../src/inference/text-classifier.js";
import type { ZeroShotClassifier } from "../../src/inference/zero-shot.js";
import { TINY_MODEL_DIR, TINY_TEACHER_DIR, tinyTeacherParity } from "../helpers/fixtures.js";

const parity = tinyTeacherParity();
const texts = parity.items.map((i) => i.text);

function teacherConfig(flags: Record<string, string> = {}): Config {
  return loadConfig({ env: {}, flags: { "model.dir": TINY_TEACHER_DIR, "batching.maxWaitMs": "1", ...flags } });
}

describe("zero-shot pairs: tokenizer parity with transformers", () => {
  it("covers 12 languages and texts cut to fit", () => {
    assert.equal(new Set(parity.items.map((i) => i.lang).filter((l) => l !== "xx")).size, 12);
    assert.ok(parity.items.filter((i) => i.truncated).length >= 5);
  });

  it("gives the reference's ids for every (text, hypothesis) pair, the text truncated only_first", async () => {
    const tokenizer = PairTokenizer.fromFile(join(TINY_TEACHER_DIR, "tokenizer.json"), parity.maxLength);
    const hypotheses = parity.candidateLabels.map((l) => parity.hypothesisTemplate.replace("{}", l));
    const packed = await tokenizer.encodePairs(texts, hypotheses);
    const wrong: string[] = [];
    for (const [t, item] of parity.items.entries()) {
      for (const [l, pair] of item.pairs.entries()) {
        const k = t * hypotheses.length + l;
        const ids = Array.from(packed.ids.subarray(packed.starts[k], packed.starts[k + 1]));
        if (JSON.stringify(ids) !== JSON.stringify(pair.ids) || (packed.truncated[k] === 1) !== pair.truncated)
          wrong.push(`${item.id}/${parity.candidateLabels[l]}`);
      }
    }
    assert.deepEqual(wrong, []);
    // A cut pair fills maxLength exactly and still ends with its whole hypothesis (as a short text's pair does).
    const cut = parity.items.filter((i) => i.truncated);
    const short = parity.items[0]?.pairs ?? [];
    for (const item of cut) {
      for (const [l, pair] of item.pairs.entries()) {
        assert.equal(pair.ids.length, parity.maxLength);
        const tail = short[l]?.ids.slice(short[l].ids.indexOf(2) + 1) ?? [];
        assert.deepEqual(pair.ids.slice(-tail.length), tail, item.id);
      }
    }
  });
});

describe("zero-shot scores: the teacher against transformers' zero-shot pipeline", () => {
  let teacher: TextClassifier;
  before(async () => {
    teacher = await loadTextClassifier(teacherConfig({ "batching.maxBatchSize": "8" }));
  });
  after(async () => teacher?.close());

  it("is recognised as zero-shot by the entailment label of config.json, and scores the candidate labels", () => {
    assert.equal(teacher.kind, "zero-shot");
    assert.deepEqual(teacher.model.labels, ["positive", "neutral", "negative"]);
    assert.equal((teacher as ZeroShotClassifier).entailment, parity.entailmentIndex);
  });

  it("scores every corpus text within 1e-4 of the pipeline, truncated texts included (fp32)", async () => {
    const results = await teacher.classifyAll(texts);
    let worst = 0;
    let disagreements = 0;
    for (const [i, item] of parity.items.entries()) {
      const r = results[i];
      assert.ok(r, item.id);
      for (const label of parity.candidateLabels)
        worst = Math.max(worst, Math.abs((r.scores[label] as number) - (item.scores[label] as number)));
      if (r.label !== item.label) disagreements++;
      assert.equal(r.truncated, item.truncated, item.id);
    }
    assert.ok(worst < 1e-4, `largest score difference ${worst}`);
    assert.equal(disagreements, 0);
    // Not a constant answer: the fixture's teacher picks each label somewhere.
    assert.equal(new Set(results.map((r) => r.label)).size, 3);
  });

  it("gives the same results alone as in a chunk of the whole corpus", async () => {
    const all = await teacher.classifyAll(texts);
    for (const i of [0, 17, 200, 380, ...parity.items.flatMap((it, k) => (it.truncated ? [k] : []))]) {
      const [alone] = await teacher.classifyAll([texts[i] as string]);
      for (const label of parity.candidateLabels)
        assert.ok(Math.abs((alone?.scores[label] as number) - (all[i]?.scores[label] as number)) < 1e-5);
    }
    assert.deepEqual(await teacher.classifyAll([]), []);
  });
});

describe("zero-shot: the int8 variant and the settings", () => {
  it("runs model_quantized.onnx as the Python onnxruntime does, one pair per run (entailment logits softmaxed)", async () => {
    // One pair per run as in the reference: dynamic int8 quantizes activations over the whole
    // batch, so the batch's other rows move the results by a few hundredths.
    const teacher = await loadTextClassifier(teacherConfig({ "model.variant": "int8", "batching.maxBatchSize": "1" }));
    try {
      const results = await teacher.classifyAll(texts);
      let worst = 0;
      for (const [i, item] of parity.items.entries()) {
        const expected = softmax(item.quantizedEntailmentLogits);
        for (const [l, label] of parity.candidateLabels.entries())
          worst = Math.max(worst, Math.abs((results[i]?.scores[label] as number) - (expected[l] as number)));
      }
      assert.ok(worst < 1e-4, `largest score difference ${worst}`);
    } finally {
      await teacher.close();
    }
  });

  it("takes the hypothesis template and candidate labels from configuration", async () => {
    const teacher = await loadTextClassifier(
      teacherConfig({
        "model.zeroShot.hypothesisTemplate": "This text is {}.",
        "model.zeroShot.candidateLabels": "good,bad",
      }),
    );
    try {
      assert.deepEqual(teacher.model.labels, ["good", "bad"]);
      assert.deepEqual((teacher as ZeroShotClassifier).hypotheses, ["This text is good.", "This text is bad."]);
      const [r] = await teacher.classifyAll(["I love it"]);
      assert.deepEqual(Object.keys(r?.scores ?? {}), ["good", "bad"]);
      // Not the default question's answer.
      assert.notEqual(r?.scores.good, undefined);
    } finally {
      await teacher.close();
    }
  });

  it("tells the student from the teacher with kind auto, and refuses zero-shot on a model without entailment", async () => {
    const student = await resolveModel({ ...loadConfig({ env: {}, flags: { "model.dir": TINY_MODEL_DIR } }).model });
    const nli = await resolveModel({ ...teacherConfig().model });
    assert.equal(isZeroShot(student, "auto"), false);
    assert.equal(isZeroShot(nli, "auto"), true);
    assert.equal(isZeroShot(nli, "classifier"), false);
    assert.throws(() => isZeroShot(student, "zero-shot"), /no entailment label/);
  });

  it("refuses a hypothesis that leaves no room for the text", async () => {
    await assert.rejects(
      loadTextClassifier(teacherConfig({ "model.maxLength": "8" })),
      /leaves no room|no room is left for the text/,
    );
  });

  it("rejects a template without {} when the configuration is loaded", () => {
    assert.throws(
      () => teacherConfig({ "model.zeroShot.hypothesisTemplate": "The sentiment is" }),
      /zeroShot\.hypothesisTemplate/,
    );
  });
});

describe("zero-shot: not the primary", () => {
  it("refuses to load the teacher as the model that tags events, saying where it can be used", async () => {
    await assert.rejects(
      SentimentClassifier.load(teacherConfig()),
      /zero-shot NLI model .* not the model that tags events/,
    );
  });
});
