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
    private readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    /** Undefined when the tokenizer is not of BERT's shape: the Rust library encodes. */
    private readonly wordPiece: WordPieceEncoder | undefined,
  ) {}

  /** Which encoder runs: ours for BERT's shape, the Rust library's for any other. */
  get encoder(): "wordpiece-js" | "tokenizers" {
    return this.wordPiece ? "wordpiece-js" : "tokenizers";
  }

  /** Loads `tokenizer.json`; texts are cut to `maxLength` tokens, special tokens included. */
  static fromFile(tokenizerPath: string, maxLength: number, options: { rustOnly?: boolean } = {}): TextTokenizer {
    let tokenizer: Tokenizer;
    let json: TokenizerJson;
    try {
      tokenizer = Tokenizer.fromFile(tokenizerPath);
      json = JSON.parse(readFileSync(tokenizerPath, "utf8"));
    } catch (e) {
      throw new ModelError(`cannot read tokenizer file ${tokenizerPath}: ${(e as Error).message}`, { cause: e });
    }
    // What `truncation=True, max_length=N` does for one sequence; a padding the file may set is the
    // batcher's business (it pads each batch to its own longest text).
    tokenizer.setTruncation(maxLength);
    tokenizer.disablePadding();
    return new TextTokenizer(
      tokenizer,
      maxLength,
      options.rustOnly ? undefined : WordPieceEncoder.fromJson(json, bertCharClasses),
    );
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
    if (this.wordPiece) return this.encodeInJs(this.wordPiece, texts);
    const encodings = await this.tokenizer.encodeBatch([...texts]);
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
