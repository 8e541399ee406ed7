/** A processing thread (see `thread-pool.ts`): prepares and builds chunks, keeping each one's state between the two. */
import { parentPort, workerData } from "node:worker_threads";
import { type PackedEncodings, packEncodings } from "../../inference/packed.js";
import { TextTokenizer } from "../../inference/tokenizer.js";
import { serveRequests } from "../../threads/worker-serve.js";
import { ChunkState } from "./chunk-work.js";
import { unpackRecords } from "./packed-records.js";
import type { WorkReply, WorkRequest, WorkThreadInit } from "./thread-pool.js";

if (!parentPort) throw new Error("work-thread-main runs as a worker thread (see thread-pool.ts)");
const { input } = workerData as WorkThreadInit;

/** Tokenizers by file and length: the model in use, and the next one during a switch. */
const tokenizers = new Map<string, TextTokenizer>();
function tokenizer(path: string, maxLength: number): TextTokenizer {
  const key = `${maxLength}\u0000${path}`;
  let found = tokenizers.get(key);
  if (!found) {
    found = TextTokenizer.fromFile(path, maxLength);
    if (tokenizers.size >= 2) tokenizers.delete(tokenizers.keys().next().value as string);
    tokenizers.set(key, found);
  }
  return found;
}

const encodingBuffers = (e: PackedEncodings) => [e.ids.buffer, e.starts.buffer, e.truncated.buffer] as ArrayBuffer[];

void serveRequests<WorkRequest, WorkReply>(parentPort, () => {
  const chunks = new Map<number, ChunkState>();
  return {
    handle: async (request) => {
      switch (request.type) {
        case "prepare": {
          const state = new ChunkState(
            request.partition,
            unpackRecords(request.records),
            input,
            request.options.schemas,
          );
          const { path, maxLength } = request.tokenizer;
          const encodings = packEncodings(await tokenizer(path, maxLength).encodeAll(state.texts()));
          chunks.set(request.job, state);
          return { result: state.prepared(encodings, request.options), transfer: encodingBuffers(encodings) };
        }
        case "build": {
          const state = chunks.get(request.job);
          if (!state) throw new Error(`no prepared chunk ${request.job} on this thread`);
          chunks.delete(request.job);
          const built = state.build(request.request);
          return {
            result: built,
            transfer: [
              built.values.buffer,
              built.starts.buffer,
              built.kindOf.buffer,
              built.timestamps.buffer,
            ] as ArrayBuffer[],
          };
        }
        case "release":
          chunks.delete(request.job);
          return { result: null };
      }
    },
    close: () => {},
  };
});
