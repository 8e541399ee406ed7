/**
 * Model ids, revisions and the hub URL as an operator (or an admin request) gives them: checked as
 * the hub checks them before any reaches a URL or a path in the cache, with the field and the reason.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { hubUrlProblem, repoIdProblem, revisionProblem } from "../../src/config/hub-names.js";
import { loadConfig } from "../../src/config/index.js";
import { ModelError } from "../../src/errors/errors.js";
import { resolveModel } from "../../src/inference/model/index.js";
import { modelConfigOf, parseModelSpec, specOf } from "../../src/rollout/model-spec.js";
import { problemsOf } from "../helpers/config-problems.js";

const GOOD_IDS = [
  "Xenova/distilbert-base-multilingual-cased-sentiments-student",
  "gpt2",
  "org_1/Model.v2-int8",
  "a/b",
  `${"a".repeat(96)}/${"b".repeat(96)}`,
];
const BAD_IDS = [
  "a--b/c", // the cache folder of a/b--c too
  "a/b--c",
  "a/../b",
  "a..b/c",
  "../x",
  ".hidden/x",
  "org/-name",
  "org/name-",
  "org/name.",
  "-org/name",
  "a/b/c",
  "a b/c",
  "org/café",
  "org/name.git",
  `org/${"b".repeat(97)}`,
  "org/",
  "/name",
];
const GOOD_REVISIONS = ["main", "v1.0", "refs/pr/1", "refs/convert/onnx", "release-2026.01", "0".repeat(40), "a@b"];
const BAD_REVISIONS = [
  ".",
  "..",
  "a..b",
  "../main",
  "main/..",
  "feature/.hidden",
  "refs//x",
  "/main",
  "main/",
  "main.",
  "x.lock",
  "x.lock/y",
  "@",
  "main@{1}",
  "main~1",
  "main^",
  "a:b",
  "a?b",
  "a*b",
  "a[b",
  "a\\b",
  "a b",
  "é",
  "\ud800",
  "ma\u0000in",
  "#".repeat(67), // 201 characters once URL-encoded
];

describe("hub repo ids and revisions", () => {
  it("accepts the ids huggingface_hub accepts and refuses the others, saying why", () => {
    for (const id of GOOD_IDS) assert.equal(repoIdProblem(id), undefined, id);
    for (const id of BAD_IDS) assert.match(repoIdProblem(id) ?? "", /hub repo id/, id);
  });

  it("accepts branches, tags and commits and refuses what git refuses, `.` and `..` included", () => {
    for (const revision of GOOD_REVISIONS) assert.equal(revisionProblem(revision), undefined, revision);
    for (const revision of BAD_REVISIONS) assert.ok(revisionProblem(revision), JSON.stringify(revision));
  });

  it("stops start-up on a bad model.id, model.revision or shadow id/revision, naming the field and the reason", () => {
    for (const [path, value, reason] of [
      ["model.id", "a--b/c", /`--`/],
      ["model.revision", "..", /`\.\.`/],
      ["model.revision", ".", /starts with `\.`/],
      ["rollout.shadow.id", "a/b--c", /`--`/],
      ["rollout.shadow.revision", "main~1", /~/],
    ] as const) {
      const problems = problemsOf(() => loadConfig({ env: {}, flags: { [path]: value } }));
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.equal(problems[0]?.path, path);
      assert.match(problems[0]?.reason ?? "", reason);
    }
  });

  it("refuses them in an admin request body too", () => {
    assert.throws(() => parseModelSpec({ revision: ".." }), /revision: .*`\.\.`/);
    assert.throws(() => parseModelSpec({ id: "a--b/c" }), /id: .*`--`/);
    assert.throws(() => parseModelSpec({ id: "org/model", sha256: "abc" }), /sha256: .*64 hex/);
    assert.deepEqual(parseModelSpec({ id: "org/model", revision: "refs/pr/1" }), {
      id: "org/model",
      revision: "refs/pr/1",
    });
  });

  it("model.sha256 stays with the primary's files: a switch to other files drops it, unless it pins its own", () => {
    const pin = "a".repeat(64);
    const base = loadConfig({ env: {}, flags: { "model.sha256": pin } }).model;
    assert.equal(modelConfigOf(base, { revision: "v2" }).sha256, undefined);
    assert.equal(modelConfigOf(base, { variant: "int8" }).sha256, undefined);
    assert.equal(modelConfigOf(base, { dir: "/models/v2" }).sha256, undefined);
    assert.equal(modelConfigOf(base, { revision: "v2", sha256: "b".repeat(64) }).sha256, "b".repeat(64));
    assert.equal(modelConfigOf(base, { variant: base.variant }).sha256, pin);
    assert.deepEqual(specOf(base), { id: base.id, revision: base.revision, variant: base.variant, sha256: pin });
  });

  it("refuses them before touching the cache or the network when given past the configuration", async () => {
    const base = {
      cacheDir: mkdtempSync(join(tmpdir(), "sw-names-")),
      variant: "fp32" as const,
      hubUrl: "http://127.0.0.1:9",
      offline: false,
      maxLength: 512,
      env: {},
      fetch: () => assert.fail("no request for an unusable id or revision"),
    };
    // Before: `..` named the refs directory itself and ended in a raw EISDIR.
    for (const revision of [".", ".."]) {
      await assert.rejects(resolveModel({ ...base, id: "org/model", revision }), (e: unknown) => {
        assert.ok(e instanceof ModelError, String(e));
        assert.match(e.message, /model\.revision/);
        return true;
      });
    }
    for (const id of ["a--b/c", "a/b--c"]) {
      await assert.rejects(resolveModel({ ...base, id, revision: "main" }), (e: unknown) => {
        assert.ok(e instanceof ModelError, String(e));
        assert.match(e.message, /model\.id/);
        return true;
      });
    }
  });
});

describe("model.hubUrl", () => {
  it("refuses credentials in the URL, and never prints them", () => {
    assert.equal(hubUrlProblem("https://hub.example/mirror"), undefined);
    const problems = problemsOf(() => loadConfig({ env: { SW_MODEL_HUB_URL: "http://user:s3cret@hub.example:8080" } }));
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.path, "model.hubUrl");
    assert.match(problems[0]?.reason ?? "", /credentials.*HF_TOKEN/);
    assert.doesNotMatch(JSON.stringify(problems), /s3cret/);
    assert.match(
      problemsOf(() => loadConfig({ env: { SW_MODEL_HUB_URL: "ftp://hub.example" } }))[0]?.reason ?? "",
      /http/,
    );
  });
});
