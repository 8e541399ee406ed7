/**
 * The hub path as a user meets it: `model fetch` downloads a repo laid out like the hub's ONNX
 * exports (onnx/model.onnx beside the tokenizer and config) from a local server that answers like
 * the hub, and later commands run from the cache with the hub gone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type FakeHub, startFakeHub } from "../helpers/fake-hub.js";
import { REPO_ROOT, TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";

const cli = join(REPO_ROOT, "dist/src/cli/main.js");
const REPO = "sentiment-worker/tiny-onnx";

/** Runs the CLI asynchronously, so the fake hub in this process can answer it. */
function sw(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("sentiment-worker model fetch", () => {
  it("downloads the model once, then classifies offline from the cache", async () => {
    const file = (name: string) => readFileSync(join(TINY_MODEL_DIR, name));
    const hub: FakeHub = await startFakeHub({
      [REPO]: {
        files: {
          "onnx/model.onnx": file("model.onnx"),
          "config.json": file("config.json"),
          "tokenizer.json": file("tokenizer.json"),
          "tokenizer_config.json": file("tokenizer_config.json"),
          "README.md": "a model card",
        },
      },
    });
    const cacheDir = mkdtempSync(join(tmpdir(), "sw-cache-"));
    const model = ["--model.id", REPO, "--model.cacheDir", cacheDir, "--model.hubUrl", hub.url];
    let fetched: { dir: string; revision: string };
    try {
      const result = await sw(["model", "fetch", ...model]);
      assert.equal(result.status, 0, result.stderr);
      fetched = JSON.parse(result.stdout);
      assert.match(result.stderr, /downloading a model file file=onnx\/model\.onnx/);
      assert.ok(!hub.requests.some((r) => r.includes("README.md")), "only the files the worker needs");
    } finally {
      await hub.close();
    }
    assert.match(fetched.revision, /^[0-9a-f]{40}$/, "the revision is the commit the hub resolved");

    const item = tinyParity().items.find((i) => i.lang === "fr");
    assert.ok(item);
    const result = await sw(["classify", item.text, ...model, "--model.offline", "true"]);
    assert.equal(result.status, 0, result.stderr);
    const ranked = JSON.parse(result.stdout) as Array<{ label: string; score: number }>;
    for (const { label, score } of ranked) assert.ok(Math.abs(score - (item.probs[label] as number)) < 1e-5);
  });

  it("offline with an empty cache says how to point at a local directory", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "sw-cache-"));
    const result = await sw([
      "classify",
      "hello",
      "--model.id",
      REPO,
      "--model.cacheDir",
      cacheDir,
      "--model.offline",
      "true",
    ]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /model\.dir \(--model\.dir \/ SW_MODEL_DIR\)/);
  });
});
