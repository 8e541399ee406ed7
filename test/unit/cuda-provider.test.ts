/**
 * The CUDA execution provider path: `runtime.executionProviders` is an order of preference, so
 * `cuda,cpu` starts on a machine without CUDA (on the CPU, saying why), `cuda` alone refuses with
 * a ModelError that names the provider, and where CUDA exists the model runs on it and agrees with
 * the CPU. The last test skips, saying so, on a machine without a GPU.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { ModelError } from "../../src/errors/errors.js";
import { OnnxBackend } from "../../src/inference/onnx-backend.js";
import { padBatch } from "../../src/inference/padded-batch.js";
import { TINY_MODEL_DIR } from "../helpers/fixtures.js";

const onnxPath = join(TINY_MODEL_DIR, "model.onnx");
const runtime = (executionProviders: string[]) => ({ executionProviders, intraOpThreads: 1, interOpThreads: 1 });

/** Why CUDA cannot run here, or undefined when it can. */
async function cudaUnavailable(): Promise<string | undefined> {
  try {
    const session = await ort.InferenceSession.create(onnxPath, { executionProviders: ["cuda"] });
    await session.release();
    return undefined;
  } catch (error) {
    return (error as Error).message.split("\n")[0];
  }
}

const noCuda = await cudaUnavailable();
const batch = () =>
  padBatch([
    { ids: [101, 170, 180, 102], tokens: 4, truncated: false },
    { ids: [101, 190, 102], tokens: 3, truncated: false },
  ]);

describe("the CUDA execution provider", () => {
  it("starts `cuda,cpu` on what is there, and says what it skipped", async () => {
    const backend = await OnnxBackend.load(onnxPath, 3, runtime(["cuda", "cpu"]));
    try {
      if (noCuda) {
        assert.deepEqual(backend.providers.used, ["cpu"]);
        assert.equal(backend.providers.skipped[0]?.provider, "cuda");
        assert.match(backend.providers.skipped[0]?.reason ?? "", /cuda/i);
      } else {
        assert.deepEqual(backend.providers.used, ["cuda", "cpu"]);
      }
      assert.equal((await backend.run(batch())).length, 6);
    } finally {
      await backend.close();
    }
  });

  it("refuses `cuda` alone where it cannot run, naming it", { skip: noCuda ? false : "CUDA runs here" }, async () => {
    await assert.rejects(OnnxBackend.load(onnxPath, 3, runtime(["cuda"])), (error) => {
      assert.ok(error instanceof ModelError);
      assert.match(error.message, /cuda/i);
      return true;
    });
  });

  it("runs the model on the GPU with the CPU's answers", {
    skip: noCuda ? `no CUDA on this machine (${noCuda}): run on a GPU host with the CUDA 12 libraries` : false,
  }, async () => {
    const gpu = await OnnxBackend.load(onnxPath, 3, runtime(["cuda"]));
    const cpu = await OnnxBackend.load(onnxPath, 3, runtime(["cpu"]));
    try {
      const [a, b] = [await gpu.run(batch()), await cpu.run(batch())];
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < 1e-3);
    } finally {
      await Promise.all([gpu.close(), cpu.close()]);
    }
  });
});
