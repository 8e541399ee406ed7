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
import { type PaddedBatch, padPacked } from "./padded-batch.js";
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
    /**
     * Batches padded (and, for a backend with a queue of its own, already running) as they arrived,
     * before the batches ahead of them were answered: the device then waits neither for this
     * thread's padding nor for its answer to the batch before.
     */
    const early = new WeakMap<
      RunRequest,
      { padded: PaddedBatch; run?: { logits: Promise<Float32Array>; at: number } }
    >();
    let lastEnd = 0;
    return {
      arrived: (request) => {
        if (request.kind !== "packed") return;
        const padded = padPacked(request);
        if (!backend.queuesRuns) {
          early.set(request, { padded });
          return;
        }
        const logits = backend.run(padded);
        // Awaited by `handle`, in turn; a rejection before that is not unhandled.
        logits.catch(() => {});
        early.set(request, { padded, run: { logits, at: performance.now() } });
      },
      handle: async (request) => {
        if (request.kind === "packed") {
          const ahead = early.get(request);
          const padded = ahead?.padded ?? padPacked(request);
          // A batch that waited on the device for the one before: its time counts from that one's end.
          const started = ahead?.run ? Math.max(ahead.run.at, lastEnd) : performance.now();
          const logits = await (ahead?.run?.logits ?? backend.run(padded));
          lastEnd = performance.now();
          const runMs = lastEnd - started;
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
