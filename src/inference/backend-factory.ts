/**
 * Picks the model runtime for a model directory: ONNX Runtime in a thread of its own, or, for a
 * directory marked as a simulated device (a benchmark's stand-in for an accelerator), that.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RestartOptions } from "../threads/restarting-thread.js";
import type { InferenceBackend, RuntimeOptions } from "./inference-backend.js";
import type { ModelFiles } from "./model/index.js";
import { ThreadedOnnxBackend } from "./onnx-thread.js";
import { simulatedDeviceSpec } from "./simulated-device.js";

export async function loadBackend(
  model: ModelFiles,
  runtime: RuntimeOptions,
  /** Where a thread's death and its replacement are logged. */
  restart: RestartOptions = {},
): Promise<InferenceBackend> {
  const configPath = join(model.dir, "config.json");
  // Already read and validated while resolving the model.
  const config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
  const simulated = simulatedDeviceSpec(config, configPath);
  // In a thread of its own: onnxruntime-node runs a batch synchronously on the calling thread. The
  // simulated device runs there too, so that batches reach it the way they reach a model.
  return ThreadedOnnxBackend.load(model.onnxPath, model.labels.length, runtime, simulated, restart);
}
