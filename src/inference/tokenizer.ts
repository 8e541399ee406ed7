/**
 * Text to token ids, identical to the Hugging Face reference (`tokenizers` in Python) including
 * truncation and the special tokens around a single sequence. A tokenizer.json of BERT's shape
 * (the model's) is encoded by `wordpiece.ts` in JavaScript, a few µs a text; any other by the same
 * Rust library as the reference, through its official Node binding, a chunk at a time on libuv's
 * thread pool (`encodeBatch`).
 */
import { readFileSync } from "node:fs";
import { setImmediate } from "node:timers/promises";
import { Tokenizer } from "tokenizers";
import { ModelError } from "../errors/errors.js";
import { bertCharClasses } from "./char-classes.js";
import { type TokenizerJson, WordPieceEncoder } from "./wordpiece.js";

export interface EncodedText {
  /** Token ids including the special tokens, at most `maxLength` of them. */
  readonly ids: readonly number[];
  /** The text had more tokens than fit; the end was cut. */
  readonly truncated: boolean;
  /** Token count, the batcher's cost of this text. */
  readonly tokens: number;
}

/** Texts the JavaScript encoder encodes before it lets the event loop run (about 2 ms of work). */
const YIELD_EVERY = 256;

export class TextTokenizer {
  private constructor(
    /** Exactly one of the two: ours for BERT's shape, the Rust library for any other. */
    private readonly encoders: { wordPiece: WordPieceEncoder } | { rust: Tokenizer },
    readonly maxLength: number,
  ) {}

  /** Which encoder runs: ours for BERT's shape, the Rust library's for any other. */
  get encoder(): "wordpiece-js" | "tokenizers" {
    return "wordPiece" in this.encoders ? "wordpiece-js" : "tokenizers";
  }

  /** Loads `tokenizer.json`; texts are cut to `maxLength` tokens, special tokens included. */
  static fromFile(tokenizerPath: string, maxLength: number, options: { rustOnly?: boolean } = {}): TextTokenizer {
    if (!options.rustOnly) {
      let json: TokenizerJson | undefined;
      try {
        json = JSON.parse(readFileSync(tokenizerPath, "utf8"));
      } catch {
        // Not JSON we can read: the Rust library below says what is wrong with it.
      }
      // Ours alone: the Rust library would hold a second copy of the vocabulary, unused.
      const wordPiece = json && WordPieceEncoder.fromJson(json, bertCharClasses);
      if (wordPiece) return new TextTokenizer({ wordPiece }, maxLength);
    }
    let rust: Tokenizer;
    try {
      rust = Tokenizer.fromFile(tokenizerPath);
    } catch (e) {
      throw new ModelError(`cannot read tokenizer file ${tokenizerPath}: ${(e as Error).message}`, { cause: e });
    }
    // What `truncation=True, max_length=N` does for one sequence; a padding the file may set is the
    // batcher's business (it pads each batch to its own longest text).
    rust.setTruncation(maxLength);
    rust.disablePadding();
    return new TextTokenizer({ rust }, maxLength);
  }

  /** Whether our JavaScript encoder reads this tokenizer.json (`fromFile` would pick it). */
  static isBertShape(tokenizerPath: string): boolean {
    try {
      return WordPieceEncoder.supports(JSON.parse(readFileSync(tokenizerPath, "utf8")));
    } catch {
      return false;
    }
  }

  /** The texts' encodings, in order. */
  async encodeAll(texts: readonly string[]): Promise<EncodedText[]> {
    if (texts.length === 0) return [];
    if ("wordPiece" in this.encoders) return this.encodeInJs(this.encoders.wordPiece, texts);
    const encodings = await this.encoders.rust.encodeBatch([...texts]);
    return encodings.map((encoding) => {
      const ids = encoding.getIds();
      // Only a text at the limit can have been cut; asking the others costs a native call each.
      const truncated = ids.length >= this.maxLength && encoding.getOverflowing().length > 0;
      return { ids, truncated, tokens: ids.length };
    });
  }

  private async encodeInJs(encoder: WordPieceEncoder, texts: readonly string[]): Promise<EncodedText[]> {
    const out: EncodedText[] = [];
    for (const [i, text] of texts.entries()) {
      if (i > 0 && i % YIELD_EVERY === 0) await setImmediate();
      const { ids, truncated } = encoder.encode(text, this.maxLength);
      out.push({ ids, truncated, tokens: ids.length });
    }
    return out;
  }
}
