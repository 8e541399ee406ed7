/** The tokenizer thread (see `tokenizer-thread.ts`): texts in, packed ids out, in order. */
import { parentPort, workerData } from "node:worker_threads";
import { serveRequests } from "../threads/worker-serve.js";
import { type PackedEncodings, packEncodings } from "./packed.js";
import { TextTokenizer } from "./tokenizer.js";
import type { TokenizerThreadInit } from "./tokenizer-thread.js";

if (!parentPort) throw new Error("tokenizer-thread-main runs as a worker thread (see tokenizer-thread.ts)");
const init = workerData as TokenizerThreadInit;
void serveRequests<string[], PackedEncodings>(parentPort, () => {
  const tokenizer = TextTokenizer.fromFile(init.tokenizerPath, init.maxLength);
  return {
    handle: async (texts) => {
      const packed = packEncodings(await tokenizer.encodeAll(texts));
      return {
        result: packed,
        transfer: [packed.ids.buffer, packed.starts.buffer, packed.truncated.buffer] as ArrayBuffer[],
      };
    },
    close: () => {},
  };
});
