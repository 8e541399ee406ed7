/**
 * The JavaScript BERT encoder in a worker thread of its own: tokenizing is the largest piece of
 * per-message work on the event loop once the model is fast (a sixth of it with a no-op model),
 * and the event loop is what limits the worker then. A chunk's texts go over as strings; their ids
 * come back packed in three typed arrays, transferred, not copied.
 */
import { InferenceError, ModelError } from "../errors/errors.js";
import { WorkerChannel } from "../threads/worker-channel.js";
import type { EncodedText } from "./tokenizer.js";

export interface TokenizerThreadInit {
  tokenizerPath: string;
  maxLength: number;
}

/** A chunk's encodings, packed: text `i`'s ids are `ids[starts[i], starts[i + 1])`. */
export interface PackedEncodings {
  ids: Int32Array;
  starts: Int32Array;
  truncated: Uint8Array;
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

  async encodeAll(texts: readonly string[]): Promise<EncodedText[]> {
    if (texts.length === 0) return [];
    const { ids, starts, truncated } = await this.channel.request([...texts]);
    const out: EncodedText[] = new Array(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const text = Array.from(ids.subarray(starts[i] as number, starts[i + 1] as number));
      out[i] = { ids: text, truncated: truncated[i] === 1, tokens: text.length };
    }
    return out;
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}

/** Packs encodings for the trip back (see PackedEncodings). */
export function packEncodings(encodings: readonly EncodedText[]): PackedEncodings {
  const starts = new Int32Array(encodings.length + 1);
  for (let i = 0; i < encodings.length; i++)
    starts[i + 1] = (starts[i] as number) + (encodings[i] as EncodedText).ids.length;
  const ids = new Int32Array(starts[encodings.length] as number);
  const truncated = new Uint8Array(encodings.length);
  for (let i = 0; i < encodings.length; i++) {
    const encoding = encodings[i] as EncodedText;
    ids.set(encoding.ids, starts[i]);
    truncated[i] = encoding.truncated ? 1 : 0;
  }
  return { ids, starts, truncated };
}
