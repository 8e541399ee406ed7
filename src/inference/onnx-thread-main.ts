/** The inference thread (see `onnx-thread.ts`): one `OnnxBackend`, batches in, logits out, in order. */
import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../errors/error-message.js";
import { serveRequests } from "../threads/worker-serve.js";
import { OnnxBackend } from "./onnx-backend.js";
import type { RunRequest, ThreadInit } from "./onnx-thread.js";

if (!parentPort) throw new Error("onnx-thread-main runs as a worker thread (see onnx-thread.ts)");
const init = workerData as ThreadInit;
void serveRequests<RunRequest, Float32Array>(
  parentPort,
  async () => {
    const backend = await OnnxBackend.load(init.onnxPath, init.numLabels, init.runtime);
    return {
      handle: async (batch) => {
        const logits = await backend.run(batch);
        // A copy the thread owns outright, so it can be transferred (a few floats per text).
        const copy = Float32Array.from(logits);
        return { result: copy, transfer: [copy.buffer] };
      },
      close: () => backend.close(),
      info: backend.providers,
    };
  },
  // OnnxBackend's load errors already name their cause.
  errorMessage,
);
