/**
 * The JavaScript BERT encoder in a worker thread of its own: tokenizing is the largest piece of
 * per-message work on the event loop once the model is fast (a sixth of it with a no-op model),
 * and the event loop is what limits the worker then. A chunk's texts go over as strings; their ids
 * come back packed in three typed arrays, transferred, not copied.
 */
import { InferenceError, ModelError } from "../errors/errors.js";
import { WorkerChannel } from "../threads/worker-channel.js";
import { type PackedEncodings, unpackEncoding } from "./packed.js";
import type { EncodedText } from "./tokenizer.js";

export type { PackedEncodings };

export interface TokenizerThreadInit {
  tokenizerPath: string;
  maxLength: number;
}

export class ThreadedTokenizer {
  private constructor(
    private readonly channel: WorkerChannel<string[], PackedEncodings>,
    readonly maxLength: number,
  ) {}

  static async start(tokenizerPath: string, maxLength: number): Promise<ThreadedTokenizer> {
    const channel = await WorkerChannel.start<string[], PackedEncodings>(
      new URL("./tokenizer-thread-main.js", import.meta.url),
      { tokenizerPath, maxLength } satisfies TokenizerThreadInit,
      {
        name: "the tokenizer thread",
        load: (message) => new ModelError(message),
        run: (message, cause) => new InferenceError(message, cause === undefined ? undefined : { cause }),
      },
    );
    return new ThreadedTokenizer(channel, maxLength);
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
