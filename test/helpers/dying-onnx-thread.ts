/**
 * An inference thread that exits (code 7) when asked to score a packed batch holding the id
 * 666666, and otherwise is the real one: what a thread that runs out of memory or crashes in ONNX
 * Runtime looks like from the main thread.
 */
import { parentPort } from "node:worker_threads";

const POISON_ID = 666666;

parentPort?.on("message", (message: { type?: string; request?: { kind?: string; ids?: Int32Array } }) => {
  if (message.type === "run" && message.request?.kind === "packed" && message.request.ids?.includes(POISON_ID)) {
    process.exit(7);
  }
});
await import("../../src/inference/onnx-thread-main.js");
