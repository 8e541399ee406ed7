/**
 * The bench-only simulated accelerator: selected by its model directory's config.json, a fixed
 * cost per batch of up to its size, one batch at a time, its busy time added up.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { ModelError } from "../../src/errors/errors.js";
import { SentimentClassifier } from "../../src/inference/classifier.js";
import { padBatch } from "../../src/inference/padded-batch.js";
import {
  SIMULATED_DEVICE_KEY,
  SimulatedDeviceBackend,
  simulatedDeviceSpec,
  simulatedDeviceTotals,
} from "../../src/inference/simulated-device.js";
import { TINY_MODEL_DIR } from "../helpers/fixtures.js";
import { nullModelDir } from "../helpers/model-graphs.js";

const batchOf = (size: number) =>
  padBatch(Array.from({ length: size }, () => ({ ids: [101, 7, 102], tokens: 3, truncated: false })));

describe("simulated device", () => {
  it("reads its spec from config.json, and only there", () => {
    assert.equal(simulatedDeviceSpec({ id2label: {} }, "c"), undefined);
    assert.deepEqual(simulatedDeviceSpec({ [SIMULATED_DEVICE_KEY]: { batch_ms: 20, max_batch_size: 256 } }, "c"), {
      batchMs: 20,
      maxBatchSize: 256,
    });
    assert.throws(
      () => simulatedDeviceSpec({ [SIMULATED_DEVICE_KEY]: { batch_ms: 20, max_batch_size: 2.5 } }, "/m/config.json"),
      (e) => e instanceof ModelError && /\/m\/config\.json must be/.test(e.message),
    );
  });

  it("costs a fixed time per pass of up to its batch size, one batch at a time, and adds it up", async () => {
    const device = new SimulatedDeviceBackend(3, { batchMs: 30, maxBatchSize: 4 });
    const before = simulatedDeviceTotals();
    const started = performance.now();
    // Two batches handed over at once: the second waits for the first. 5 posts take two passes.
    const [a, b] = await Promise.all([device.run(batchOf(4)), device.run(batchOf(5))]);
    const elapsed = performance.now() - started;
    assert.equal(a.length, 4 * 3);
    assert.equal(b.length, 5 * 3);
    assert.ok(elapsed >= 89, `three passes of 30 ms took ${elapsed.toFixed(1)} ms`);
    const after = simulatedDeviceTotals();
    assert.equal(after.busyMs - before.busyMs, 90);
    assert.equal(after.batches - before.batches, 2);
    assert.equal(after.posts - before.posts, 9);
    await device.close();
    await assert.rejects(device.run(batchOf(1)), ModelError);
  });

  it("is what the classifier runs for a model directory marked as one", async () => {
    const dir = nullModelDir(TINY_MODEL_DIR);
    try {
      const configPath = join(dir, "config.json");
      const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
      config[SIMULATED_DEVICE_KEY] = { batch_ms: 5, max_batch_size: 8 };
      writeFileSync(configPath, JSON.stringify(config));
      const settings = loadConfig({ env: {}, flags: { "model.dir": dir } });
      const classifier = await SentimentClassifier.load(settings);
      const before = simulatedDeviceTotals();
      const results = await classifier.classifyAll(["one", "two", "three"]);
      assert.equal(results.length, 3);
      const after = simulatedDeviceTotals();
      assert.ok(after.batches > before.batches, "the simulated device ran the batches");
      // Counted here although the device runs in the inference thread.
      assert.equal(after.posts - before.posts, 3);
      assert.equal(after.busyMs - before.busyMs, 5 * (after.batches - before.batches));
      await classifier.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
