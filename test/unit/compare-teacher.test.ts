/**
 * `sentiment-worker compare --candidate <teacher>` as a user runs it (the built CLI, the tiny
 * student and the tiny zero-shot teacher): the student against the teacher, overall, per language,
 * per label pair, and each against the file's reference labels. The expected numbers come from the
 * two Python references (transformers' text-classification and zero-shot pipelines), not from us.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { REPO_ROOT, TINY_MODEL_DIR, TINY_TEACHER_DIR, tinyParity, tinyTeacherParity } from "../helpers/fixtures.js";

const cli = join(REPO_ROOT, "dist/src/cli/main.js");
const LABELS = ["positive", "neutral", "negative"];
const student = new Map(tinyParity().items.map((i) => [i.id, i]));
// The 12 languages' posts, with a made-up reference label each (every third one positive, ...).
const items = tinyTeacherParity().items.filter((i) => i.lang !== "xx");
const reference = (k: number) => LABELS[k % 3] as string;
const studentLabel = (id: string) => {
  const probs = student.get(id)?.probs ?? {};
  return LABELS.reduce((a, b) => ((probs[b] ?? 0) > (probs[a] ?? 0) ? b : a));
};

const dir = mkdtempSync(join(tmpdir(), "sw-compare-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const input = join(dir, "posts.jsonl");
writeFileSync(
  input,
  items.map((i, k) => JSON.stringify({ id: i.id, lang: i.lang, text: i.text, label: reference(k) })).join("\n"),
);

function compare(...args: string[]) {
  const result = spawnSync(
    process.execPath,
    [cli, "compare", "--model.dir", TINY_MODEL_DIR, "--candidate", TINY_TEACHER_DIR, "--input", input, ...args],
    { env: { PATH: process.env.PATH ?? "" } },
  );
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
}

describe("compare --candidate <zero-shot teacher>", () => {
  it("reports the student's agreement with the teacher per language and each one's accuracy, as the references give them", () => {
    const { status, stdout, stderr } = compare("--json");
    assert.equal(status, 0, stderr);
    const report = JSON.parse(stdout);
    assert.match(report.candidate, /fixture-tiny-teacher@.* \(fp32, zero-shot\)/);
    assert.equal(report.compared, items.length);
    const expected = new Map<string, { compared: number; agreed: number; primary: number; candidate: number }>();
    const pairs: Record<string, Record<string, number>> = {};
    for (const [k, item] of items.entries()) {
      const s = studentLabel(item.id);
      const e = expected.get(item.lang) ?? { compared: 0, agreed: 0, primary: 0, candidate: 0 };
      e.compared++;
      if (s === item.label) e.agreed++;
      if (s === reference(k)) e.primary++;
      if (item.label === reference(k)) e.candidate++;
      expected.set(item.lang, e);
      pairs[s] ??= {};
      (pairs[s] as Record<string, number>)[item.label] = ((pairs[s] as Record<string, number>)[item.label] ?? 0) + 1;
    }
    assert.equal(report.byLanguage.length, 12);
    for (const l of report.byLanguage) {
      const e = expected.get(l.lang);
      assert.ok(e, l.lang);
      assert.deepEqual([l.compared, l.agreed], [e.compared, e.agreed], l.lang);
      assert.deepEqual(l.accuracy, {
        reference: e.compared,
        primary: e.primary / e.compared,
        candidate: e.candidate / e.compared,
      });
    }
    for (const p of LABELS)
      for (const c of LABELS) assert.equal(report.confusion[p][c], pairs[p]?.[c] ?? 0, `${p} → ${c}`);
    // The random pair neither always agrees nor never does: the numbers mean something.
    assert.ok(report.agreement > 0.05 && report.agreement < 0.95, String(report.agreement));
  });

  it("prints the table: overall, per language with each model's accuracy, the label pairs", () => {
    const { status, stdout, stderr } = compare();
    assert.equal(status, 0, stderr);
    assert.match(stdout, /^candidate: .*\(fp32, zero-shot\)$/m);
    assert.match(stdout, /^agreement: \d+\.\d\d% \(\d+ of 360 texts, argmax\)/m);
    assert.match(stdout, /^against the input's labels \(360 texts\): primary \d+\.\d\d%, candidate \d+\.\d\d%$/m);
    assert.match(stdout, /^lang +texts +agreement +mean \|score diff\| +labelled +primary acc +candidate acc$/m);
    for (const lang of ["en", "ar", "de", "es", "fr", "ja", "zh", "id", "hi", "it", "ms", "pt"])
      assert.match(
        stdout,
        new RegExp(`^${lang} +30 +\\d+\\.\\d\\d% +\\d\\.\\d{4} +30 +\\d+\\.\\d\\d% +\\d+\\.\\d\\d%$`, "m"),
      );
    assert.match(stdout, /^primary → candidate\n +positive +neutral +negative\npositive +\d+/m);
  });

  it("refuses --candidate-kind zero-shot for a model without an entailment label, naming it", () => {
    const result = spawnSync(
      process.execPath,
      [
        cli,
        "compare",
        "--model.dir",
        TINY_MODEL_DIR,
        "--candidate",
        TINY_MODEL_DIR,
        "--candidate-kind",
        "zero-shot",
        "--input",
        input,
      ],
      { env: { PATH: process.env.PATH ?? "" } },
    );
    assert.notEqual(result.status, 0);
    assert.match(
      result.stderr.toString("utf8"),
      /model\.kind is zero-shot but the id2label .* has no entailment label/,
    );
  });
});
