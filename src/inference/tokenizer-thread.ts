/**
 * The JavaScript BERT encoder in a worker thread of its own: tokenizing is the largest piece of
 * per-message work on the event loop once the model is fast (a sixth of it with a no-op model),
 * and the event loop is what limits the worker then. A chunk's texts go over as strings; their ids
 * come back packed in three typed arrays, transferred, not copied. A thread that dies is replaced
 * (`restarting-thread.ts`).
 */
import { InferenceError, ModelError } from "../errors/errors.js";
import { RestartingThread, type RestartOptions } from "../threads/restarting-thread.js";
import { type PackedEncodings, unpackEncoding } from "./packed.js";
import type { EncodedText } from "./tokenizer.js";

export type { PackedEncodings };

export interface TokenizerThreadInit {
  tokenizerPath: string;
  maxLength: number;
}

export class ThreadedTokenizer {
  private constructor(
    private readonly channel: RestartingThread<string[], PackedEncodings>,
    readonly maxLength: number,
  ) {}

  static async start(
    tokenizerPath: string,
    maxLength: number,
    options: RestartOptions = {},
  ): Promise<ThreadedTokenizer> {
    const channel = await RestartingThread.start<string[], PackedEncodings>(
      new URL("./tokenizer-thread-main.js", import.meta.url),
      { tokenizerPath, maxLength } satisfies TokenizerThreadInit,
      {
        name: "the tokenizer thread",
        load: (message) => new ModelError(message),
        run: (message, options) => new InferenceError(message, options),
      },
      options,
    );
    return new ThreadedTokenizer(channel, maxLength);
  }

  /** False from the thread's death until a new one loaded the vocabulary. */
  get ready(): boolean {
    return this.channel.ready;
  }

  /** The texts' encodings, packed as they come from the thread. */
  async encodePacked(texts: readonly string[]): Promise<PackedEncodings> {
    if (texts.length === 0) return { ids: new Int32Array(0), starts: new Int32Array(1), truncated: new Uint8Array(0) };
    return this.channel.request([...texts]);
  }

  async encodeAll(texts: readonly string[]): Promise<EncodedText[]> {
    const packed = await this.encodePacked(texts);
    return Array.from({ length: texts.length }, (_, i) => unpackEncoding(packed, i));
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
