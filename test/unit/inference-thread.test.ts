/**
 * The session in its own thread answers exactly as on the calling thread, reports loading and
 * run failures with our errors, and does not outlive `close()`; the tokenizer's word cache never
 * changes an id.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InferenceError, ModelError } from "../../src/errors/errors.js";
import { ThreadedOnnxBackend } from "../../src/inference/onnx-thread.js";
import { padBatch } from "../../src/inference/padded-batch.js";
import { TextTokenizer } from "../../src/inference/tokenizer.js";
import { TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";
import { tinyBackends } from "../helpers/onnx-backends.js";

const runtime = { executionProviders: ["cpu"], intraOpThreads: 1, interOpThreads: 1 };
const onnxPath = join(TINY_MODEL_DIR, "model.onnx");
const parity = tinyParity();
const tokenizer = () => TextTokenizer.fromFile(join(TINY_MODEL_DIR, "tokenizer.json"), parity.maxLength);

describe("ONNX Runtime in its own thread", () => {
  const backends = tinyBackends();

  it("gives the same logits as the session on the calling thread, batches in flight together", async () => {
    const encoded = await tokenizer().encodeAll(parity.items.map((item) => item.text));
    const batches: ReturnType<typeof padBatch>[][] = [];
    for (let i = 0; i < encoded.length; i += 16) {
      const items = encoded.slice(i, i + 16);
      // Two copies: the threaded backend takes ownership of (transfers) the one it is given.
      batches.push([padBatch(items), padBatch(items)]);
    }
    const fromThread = await Promise.all(batches.map(([a]) => backends.threaded.run(a as ReturnType<typeof padBatch>)));
    for (const [i, [, b]] of batches.entries()) {
      assert.deepEqual(fromThread[i], await backends.inline.run(b as ReturnType<typeof padBatch>), `batch ${i}`);
    }
  });

  it("fails a bad batch with InferenceError and keeps serving", async () => {
    const bad = {
      size: 1,
      length: 2,
      inputIds: new BigInt64Array(3),
      attentionMask: new BigInt64Array(3),
      realTokens: 2,
    };
    await assert.rejects(backends.threaded.run(bad), InferenceError);
    const logits = await backends.threaded.run(padBatch([{ ids: [101, 102], tokens: 2, truncated: false }]));
    assert.equal(logits.length, 3);
  });

  it("reports a model it cannot load as ModelError, naming the problem", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "sw-onnx-thread-")), "model.onnx");
    writeFileSync(path, "not a model");
    await assert.rejects(ThreadedOnnxBackend.load(path, 3, runtime), (e) => {
      assert.ok(e instanceof ModelError);
      assert.match(e.message, /cannot load the ONNX model .*model\.onnx/);
      return true;
    });
    await assert.rejects(ThreadedOnnxBackend.load(onnxPath, 5, runtime), /config\.json names 5 labels/);
  });

  it("refuses work after close", async () => {
    const backend = await ThreadedOnnxBackend.load(onnxPath, 3, runtime);
    await backend.close();
    await backend.close();
    await assert.rejects(backend.run(padBatch([{ ids: [101, 102], tokens: 2, truncated: false }])), InferenceError);
  });
});
