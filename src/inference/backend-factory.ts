/**
 * Picks the model runtime for a model directory: ONNX Runtime in a thread of its own, or, for a
 * directory marked as a simulated device (a benchmark's stand-in for an accelerator), that.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { InferenceBackend, RuntimeOptions } from "./inference-backend.js";
import type { ModelFiles } from "./model/index.js";
import { ThreadedOnnxBackend } from "./onnx-thread.js";
import { SimulatedDeviceBackend, simulatedDeviceSpec } from "./simulated-device.js";

export async function loadBackend(model: ModelFiles, runtime: RuntimeOptions): Promise<InferenceBackend> {
  const configPath = join(model.dir, "config.json");
  // Already read and validated while resolving the model.
  const config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
  const simulated = simulatedDeviceSpec(config, configPath);
  if (simulated) return new SimulatedDeviceBackend(model.labels.length, simulated);
  // In a thread of its own: onnxruntime-node runs a batch synchronously on the calling thread.
  return ThreadedOnnxBackend.load(model.onnxPath, model.labels.length, runtime);
}
