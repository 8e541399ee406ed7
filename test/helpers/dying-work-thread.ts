/**
 * A processing thread that dies (exits) when asked to prepare a chunk whose only record is at
 * offset 666, and otherwise is the real one: what a thread that runs out of memory or hits a bug
 * looks like from the pool.
 */
import { parentPort } from "node:worker_threads";

parentPort?.on("message", (message: { type?: string; request?: { type?: string; records?: { offsets?: string } } }) => {
  if (message.type === "run" && message.request?.type === "prepare" && message.request.records?.offsets === "666") {
    process.exit(3);
  }
});
await import("../../src/pipeline/work/work-thread-main.js");
