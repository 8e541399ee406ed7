/**
 * Text to token ids, identical to the Hugging Face reference (`tokenizers` in Python) including
 * truncation and the special tokens around a single sequence: it is the same Rust library, through
 * its official Node binding. Texts are encoded a chunk at a time on libuv's thread pool
 * (`encodeBatch`), off the event loop that runs Kafka, Redis and the batcher.
 */
import { Tokenizer } from "tokenizers";
import { ModelError } from "../errors/errors.js";

export interface EncodedText {
  /** Token ids including the special tokens, at most `maxLength` of them. */
  readonly ids: readonly number[];
  /** The text had more tokens than fit; the end was cut. */
  readonly truncated: boolean;
  /** Token count, the batcher's cost of this text. */
  readonly tokens: number;
}

export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly maxLength: number,
  ) {}

  /** Loads `tokenizer.json`; texts are cut to `maxLength` tokens, special tokens included. */
  static fromFile(tokenizerPath: string, maxLength: number): TextTokenizer {
    let tokenizer: Tokenizer;
    try {
      tokenizer = Tokenizer.fromFile(tokenizerPath);
    } catch (e) {
      throw new ModelError(`cannot read tokenizer file ${tokenizerPath}: ${(e as Error).message}`, { cause: e });
    }
    // What `truncation=True, max_length=N` does for one sequence; a padding the file may set is the
    // batcher's business (it pads each batch to its own longest text).
    tokenizer.setTruncation(maxLength);
    tokenizer.disablePadding();
    return new TextTokenizer(tokenizer, maxLength);
  }

  /** The texts' encodings, in order. */
  async encodeAll(texts: readonly string[]): Promise<EncodedText[]> {
    if (texts.length === 0) return [];
    const encodings = await this.tokenizer.encodeBatch([...texts]);
    return encodings.map((encoding) => {
      const ids = encoding.getIds();
      // Only a text at the limit can have been cut; asking the others costs a native call each.
      const truncated = ids.length >= this.maxLength && encoding.getOverflowing().length > 0;
      return { ids, truncated, tokens: ids.length };
    });
  }
}
