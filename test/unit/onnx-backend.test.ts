/** The ONNX Runtime loader's errors say what is wrong with the model file and what to do. */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ModelError } from "../../src/errors/errors.js";
import { OnnxBackend } from "../../src/inference/onnx-backend.js";
import { REPO_ROOT, TINY_MODEL_DIR } from "../helpers/fixtures.js";

const runtime = { executionProviders: ["cpu"], intraOpThreads: 1, interOpThreads: 1 };

async function loadError(path: string, labels = 3): Promise<ModelError> {
  try {
    const backend = await OnnxBackend.load(path, labels, runtime);
    await backend.close();
  } catch (e) {
    assert.ok(e instanceof ModelError, `expected a ModelError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected the model to be rejected");
}

describe("ONNX model loading", () => {
  it("loads the tiny fixture and warms it up", async () => {
    const backend = await OnnxBackend.load(join(TINY_MODEL_DIR, "model.onnx"), 3, runtime);
    assert.equal(backend.numLabels, 3);
    await backend.close();
  });

  it("rejects a corrupt ONNX file, naming it", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "sw-onnx-")), "model.onnx");
    writeFileSync(path, Buffer.from("this is not a protobuf model"));
    const error = await loadError(path);
    assert.match(error.message, /cannot load the ONNX model .*model\.onnx/);
  });

  it("rejects a model whose inputs are not input_ids and attention_mask", async () => {
    const error = await loadError(join(REPO_ROOT, "test/fixtures/models/wrong-inputs.onnx"));
    assert.match(error.message, /has inputs \[tokens\]; expected input_ids and attention_mask/);
  });

  it("rejects a model whose outputs do not match the labels of config.json", async () => {
    const error = await loadError(join(TINY_MODEL_DIR, "model.onnx"), 2);
    assert.match(error.message, /gives 3 outputs per text but config.json names 2 labels/);
  });
});
