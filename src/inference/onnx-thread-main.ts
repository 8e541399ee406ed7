/**
 * The inference thread (see `onnx-thread.ts`): one `OnnxBackend` (or the simulated device),
 * batches in, logits or probabilities out, in order.
 */
import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../errors/error-message.js";
import { serveRequests } from "../threads/worker-serve.js";
import type { InferenceBackend } from "./inference-backend.js";
import { OnnxBackend } from "./onnx-backend.js";
import type { RunReply, RunRequest, ThreadInit } from "./onnx-thread.js";
import { padPacked } from "./padded-batch.js";
import { softmaxRows } from "./postprocess.js";
import { SimulatedDeviceBackend } from "./simulated-device.js";

if (!parentPort) throw new Error("onnx-thread-main runs as a worker thread (see onnx-thread.ts)");
const init = workerData as ThreadInit;
void serveRequests<RunRequest, RunReply>(
  parentPort,
  async () => {
    const backend: InferenceBackend = init.simulated
      ? new SimulatedDeviceBackend(init.numLabels, init.simulated)
      : await OnnxBackend.load(init.onnxPath, init.numLabels, init.runtime);
    return {
      handle: async (request) => {
        if (request.kind === "packed") {
          const padded = padPacked(request);
          const started = performance.now();
          const logits = await backend.run(padded);
          const runMs = performance.now() - started;
          const scores = init.output === "logits" ? Float64Array.from(logits) : softmaxRows(logits, init.numLabels);
          return { result: { scores, runMs }, transfer: [scores.buffer as ArrayBuffer] };
        }
        const logits = await backend.run(request);
        // A copy the thread owns outright, so it can be transferred (a few floats per text).
        const copy = Float32Array.from(logits);
        return { result: copy, transfer: [copy.buffer] };
      },
      close: () => backend.close(),
      info: init.simulated ? { used: ["simulated"], skipped: [] } : (backend as OnnxBackend).providers,
    };
  },
  // OnnxBackend's load errors already name their cause.
  errorMessage,
);
