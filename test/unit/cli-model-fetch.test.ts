/**
 * The hub path as a user meets it: `model fetch` downloads a repo laid out like the hub's ONNX
 * exports (onnx/model.onnx beside the tokenizer and config) from a local server that answers like
 * the hub, and later commands run from the cache with the hub gone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type FakeHub, startFakeHub } from "../helpers/fake-hub.js";
import { REPO_ROOT, TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";

const cli = join(REPO_ROOT, "dist/src/cli/main.js");
const REPO = "sentiment-worker/tiny-onnx";

/** Runs the CLI asynchronously, so the fake hub in this process can answer it. */
function sw(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const file = (name: string) => readFileSync(join(TINY_MODEL_DIR, name));

function tinyHub(): Promise<FakeHub> {
  return startFakeHub({
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
}

describe("sentiment-worker model fetch", () => {
  it("downloads the model once, then classifies offline from the cache", async () => {
    const hub = await tinyHub();
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

  it("refuses a model.onnx the hub gives no digest of (exit 1, nothing cached), even with its last byte flipped", async () => {
    // Before: exit 0, and the corrupt file became the model.
    const hub = await tinyHub();
    hub.faults.noDigest = "onnx/model.onnx";
    hub.faults.corrupt = "onnx/model.onnx";
    const cacheDir = mkdtempSync(join(tmpdir(), "sw-cache-"));
    try {
      const result = await sw(["model", "fetch", "--model.id", REPO, "--model.cacheDir", cacheDir], {
        SW_MODEL_HUB_URL: hub.url,
      });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /onnx\/model\.onnx .*no digest.*model\.sha256/);
      const cached = readdirSync(cacheDir, { recursive: true }).map(String);
      assert.ok(!cached.some((f) => f.endsWith(".onnx") || f.includes("refs/")), cached.join(","));
    } finally {
      await hub.close();
    }
  });

  it("stops on a model.hubUrl with credentials (exit 78) without printing them", async () => {
    const result = await sw(["model", "fetch", "--model.cacheDir", mkdtempSync(join(tmpdir(), "sw-cache-"))], {
      SW_MODEL_HUB_URL: "http://user:s3cret@127.0.0.1:9",
    });
    assert.equal(result.status, 78, result.stderr);
    assert.match(result.stderr, /model\.hubUrl: must not hold credentials/);
    assert.doesNotMatch(result.stderr, /s3cret/);
  });

  it("masks credentials the hub puts in a redirect in what it prints", async () => {
    const hub = await tinyHub();
    hub.faults.credentialsInRedirect = "config.json";
    try {
      const cacheDir = mkdtempSync(join(tmpdir(), "sw-cache-"));
      const result = await sw(["model", "fetch", "--model.id", REPO, "--model.cacheDir", cacheDir], {
        SW_MODEL_HUB_URL: hub.url,
      });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /user:\*\*\*@/);
      assert.doesNotMatch(result.stderr, /s3cret/);
    } finally {
      await hub.close();
    }
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
