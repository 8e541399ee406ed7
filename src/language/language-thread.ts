/**
 * Language identification in a worker thread of its own: a tenth of the event loop's work per
 * message around a fast model, and the event loop is what limits the worker then. A chunk's texts
 * go over while the chunk is claimed and inferred, so the answers are there when its events are
 * built; the identifier's database lives in that thread only.
 */
import { SentimentWorkerError } from "../errors/errors.js";
import { RestartingThread, type RestartOptions } from "../threads/restarting-thread.js";
import type { Identified } from "./identify.js";

export class ThreadedLanguageIdentifier {
  private constructor(private readonly channel: RestartingThread<string[], Identified[]>) {}

  /** A thread that dies is replaced (`restarting-thread.ts`). */
  static async start(options: RestartOptions = {}): Promise<ThreadedLanguageIdentifier> {
    const channel = await RestartingThread.start<string[], Identified[]>(
      new URL("./language-thread-main.js", import.meta.url),
      {},
      {
        name: "the language thread",
        load: (message) => new SentimentWorkerError(message),
        run: (message, options) => new SentimentWorkerError(message, options),
      },
      options,
    );
    return new ThreadedLanguageIdentifier(channel);
  }

  /** Each text's language, in order; rejects only when the thread is gone (the caller identifies in process then). */
  identifyAll(texts: readonly string[]): Promise<Identified[]> {
    return texts.length === 0 ? Promise.resolve([]) : this.channel.request([...texts]);
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
