/**
 * Premise/hypothesis pairs to token ids, as transformers' zero-shot pipeline tokenizes them: the
 * tokenizer.json's own pair template (`[CLS] A [SEP] B [SEP]` for DeBERTa), truncation "only_first"
 * (the text is cut, never the hypothesis), no padding. The Rust `tokenizers` library through its
 * Node binding, a chunk at a time on libuv's thread pool, like `TextTokenizer` for any tokenizer
 * that is not BERT's WordPiece (SentencePiece/Unigram here). The binding's `encodeBatch` takes
 * single sequences only, so each pair is one `encode` (each runs on the pool; a chunk's run in
 * parallel).
 */
import { Tokenizer, type TruncationStrategy } from "tokenizers";
import { ModelError } from "../errors/errors.js";
import type { PackedEncodings } from "./packed.js";

export class PairTokenizer {
  private constructor(
    private readonly rust: Tokenizer,
    readonly maxLength: number,
    private readonly path: string,
  ) {}

  static fromFile(tokenizerPath: string, maxLength: number): PairTokenizer {
    let rust: Tokenizer;
    try {
      rust = Tokenizer.fromFile(tokenizerPath);
    } catch (e) {
      throw new ModelError(`cannot read tokenizer file ${tokenizerPath}: ${(e as Error).message}`, { cause: e });
    }
    // The d.ts declares the strategies as a const enum, which this build cannot read: its value.
    rust.setTruncation(maxLength, { strategy: "OnlyFirst" as TruncationStrategy });
    rust.disablePadding();
    return new PairTokenizer(rust, maxLength, tokenizerPath);
  }

  /**
   * Tokens of the pair (empty text, hypothesis): what is left of `maxLength` for a text is
   * `maxLength` minus this. With no room at all the library would fail on every long text, so the
   * caller checks it once at load.
   */
  async hypothesisTokens(hypothesis: string): Promise<number> {
    return (await this.withoutTruncation().encode("", hypothesis)).getIds().length;
  }

  /** A second copy of the file, untruncated (the binding has no way to encode one pair without the setting). */
  private withoutTruncation(): Tokenizer {
    const copy = Tokenizer.fromFile(this.path);
    copy.disableTruncation();
    copy.disablePadding();
    return copy;
  }

  /**
   * Every text paired with every hypothesis, text-major (text i's pairs are i×h .. i×h+h−1), packed.
   * A pair is marked truncated when its text was cut.
   */
  async encodePairs(texts: readonly string[], hypotheses: readonly string[]): Promise<PackedEncodings> {
    const pending: Promise<Awaited<ReturnType<Tokenizer["encode"]>>>[] = [];
    for (const text of texts) for (const hypothesis of hypotheses) pending.push(this.rust.encode(text, hypothesis));
    const encodings = await Promise.all(pending);
    const starts = new Int32Array(encodings.length + 1);
    const all: number[][] = [];
    const truncated = new Uint8Array(encodings.length);
    for (const [i, encoding] of encodings.entries()) {
      const ids = encoding.getIds();
      all.push(ids);
      starts[i + 1] = (starts[i] as number) + ids.length;
      // Only a pair at the limit can have been cut; asking the others costs a native call each.
      truncated[i] = ids.length >= this.maxLength && encoding.getOverflowing().length > 0 ? 1 : 0;
    }
    const ids = new Int32Array(starts[encodings.length] as number);
    for (const [i, pairIds] of all.entries()) ids.set(pairIds, starts[i]);
    return { ids, starts, truncated };
  }
}
