/** The inference thread (see `onnx-thread.ts`): one `OnnxBackend`, batches in, logits out, in order. */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { OnnxBackend } from "./onnx-backend.js";
import type { ThreadInit, ThreadReply, ThreadRequest } from "./onnx-thread.js";

/** The error and its causes in one line: only plain data crosses back to the main thread. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause === undefined ? error.message : `${error.message}: ${messageOf(error.cause)}`;
}

async function serve(port: MessagePort, init: ThreadInit): Promise<void> {
  const post = (reply: ThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
  let backend: OnnxBackend;
  try {
    backend = await OnnxBackend.load(init.onnxPath, init.numLabels, init.runtime);
  } catch (error) {
    // OnnxBackend's load errors already name their cause.
    post({ type: "load-failed", message: error instanceof Error ? error.message : String(error) });
    port.close();
    return;
  }
  post({ type: "loaded" });

  const handle = async (request: ThreadRequest): Promise<void> => {
    if (request.type === "close") {
      await backend.close();
      post({ type: "closed" });
      port.close();
      return;
    }
    try {
      const logits = await backend.run(request);
      // A copy the thread owns outright, so it can be transferred (a few floats per text).
      const copy = Float32Array.from(logits);
      post({ type: "result", id: request.id, logits: copy }, [copy.buffer]);
    } catch (error) {
      post({ type: "failed", id: request.id, message: messageOf(error) });
    }
  };
  // One at a time, in arrival order: the session runs one batch at a time anyway.
  let queue = Promise.resolve();
  port.on("message", (request: ThreadRequest) => {
    queue = queue.then(() => handle(request));
  });
}

if (!parentPort) throw new Error("onnx-thread-main runs as a worker thread (see onnx-thread.ts)");
void serve(parentPort, workerData as ThreadInit);
