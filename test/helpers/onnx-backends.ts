/**
 * The tiny model's ONNX session twice, in its own thread and on the calling thread, loaded before
 * the file's tests and closed after: what the thread gives is checked against the session itself.
 */
import { join } from "node:path";
import { after, before } from "node:test";
import { OnnxBackend } from "../../src/inference/onnx-backend.js";
import { ThreadedOnnxBackend } from "../../src/inference/onnx-thread.js";
import { TINY_MODEL_DIR } from "./fixtures.js";

export const TINY_RUNTIME = { executionProviders: ["cpu"], intraOpThreads: 1, interOpThreads: 1 };
export const TINY_ONNX = join(TINY_MODEL_DIR, "model.onnx");

export function tinyBackends(): { readonly threaded: ThreadedOnnxBackend; readonly inline: OnnxBackend } {
  const held: { threaded?: ThreadedOnnxBackend; inline?: OnnxBackend } = {};
  before(async () => {
    [held.threaded, held.inline] = await Promise.all([
      ThreadedOnnxBackend.load(TINY_ONNX, 3, TINY_RUNTIME),
      OnnxBackend.load(TINY_ONNX, 3, TINY_RUNTIME),
    ]);
  });
  after(async () => {
    await held.threaded?.close();
    await held.inline?.close();
  });
  return held as { readonly threaded: ThreadedOnnxBackend; readonly inline: OnnxBackend };
}
