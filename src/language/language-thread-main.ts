/** The language thread (see `language-thread.ts`): texts in, languages out, in order. */
import { parentPort } from "node:worker_threads";
import { serveRequests } from "../threads/worker-serve.js";
import { sharedLanguageIdentifier } from "./event-language.js";
import type { Identified } from "./identify.js";

if (!parentPort) throw new Error("language-thread-main runs as a worker thread (see language-thread.ts)");
void serveRequests<string[], Identified[]>(parentPort, () => {
  const identifier = sharedLanguageIdentifier();
  return {
    handle: (texts) => ({ result: texts.map((text) => identifier.identify(text)) }),
    close: () => {},
  };
});
