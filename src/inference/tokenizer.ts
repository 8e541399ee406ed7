/**
 * Text to token ids, identical to the Hugging Face reference (`tokenizers` in Python) including
 * truncation. Tokenization is @huggingface/tokenizers (pure JS, the tokenizer of transformers.js);
 * truncation is ours because that library has none: the text's own tokens are cut to the length
 * budget and the special tokens of the post-processor ([CLS] … [SEP]) are put around them, which
 * is what `truncation=True, max_length=N` does for a single sequence. Its WordPiece step is
 * replaced by an equivalent faster one (`word-pieces.ts`).
 */
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelError } from "../errors/errors.js";
import { speedUpWordPieces } from "./word-pieces.js";

export interface EncodedText {
  /** Token ids including the special tokens, at most `maxLength` of them. */
  readonly ids: readonly number[];
  /** The text had more tokens than fit; the end was cut. */
  readonly truncated: boolean;
  /** Token count, the batcher's cost of this text. */
  readonly tokens: number;
}

interface SpecialTokens {
  prefix: number[];
  suffix: number[];
}

type TokenizerJson = Record<string, unknown> & { post_processor?: PostProcessor | null; model?: { type?: string } };
type PostProcessor = {
  type?: string;
  single?: Array<{ SpecialToken?: { id: string }; Sequence?: { id: string } }>;
  special_tokens?: Record<string, { ids: number[] }>;
  cls?: [string, number];
  sep?: [string, number];
  processors?: PostProcessor[];
};

/** The special tokens a single sequence gets before and after its own tokens. */
function specialTokensOf(processor: PostProcessor | null | undefined): SpecialTokens {
  if (!processor) return { prefix: [], suffix: [] };
  switch (processor.type) {
    case "TemplateProcessing": {
      const single = processor.single ?? [];
      const at = single.findIndex((piece) => piece.Sequence);
      const idsOf = (pieces: typeof single) =>
        pieces.flatMap((piece) =>
          piece.SpecialToken ? (processor.special_tokens?.[piece.SpecialToken.id]?.ids ?? []) : [],
        );
      return { prefix: idsOf(single.slice(0, at)), suffix: idsOf(single.slice(at + 1)) };
    }
    case "BertProcessing":
    case "RobertaProcessing":
      return { prefix: processor.cls ? [processor.cls[1]] : [], suffix: processor.sep ? [processor.sep[1]] : [] };
    case "Sequence": {
      // e.g. ByteLevel then Template: only the template adds tokens.
      const parts = (processor.processors ?? []).map(specialTokensOf);
      return { prefix: parts.flatMap((p) => p.prefix), suffix: parts.flatMap((p) => p.suffix) };
    }
    default:
      throw new ModelError(`unsupported tokenizer post-processor ${String(processor.type)}`);
  }
}

export class TextTokenizer {
  readonly maxLength: number;
  private readonly tokenizer: Tokenizer;
  private readonly special: SpecialTokens;
  private readonly budget: number;

  private constructor(json: TokenizerJson, config: Record<string, unknown>, maxLength: number) {
    this.tokenizer = new Tokenizer(json, config);
    if (json.model?.type === "WordPiece" && this.tokenizer.model) speedUpWordPieces(this.tokenizer.model);
    this.special = specialTokensOf(json.post_processor);
    this.maxLength = maxLength;
    this.budget = maxLength - this.special.prefix.length - this.special.suffix.length;
    if (this.budget < 1) throw new ModelError(`maxLength ${maxLength} leaves no room for text tokens`);
  }

  /** Loads `tokenizer.json` (and `tokenizer_config.json` beside it, when given). */
  static fromFiles(tokenizerPath: string, configPath: string | undefined, maxLength: number): TextTokenizer {
    const read = (path: string) => {
      try {
        return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      } catch (e) {
        throw new ModelError(`cannot read tokenizer file ${path}: ${(e as Error).message}`, { cause: e });
      }
    };
    return new TextTokenizer(read(tokenizerPath), configPath ? read(configPath) : {}, maxLength);
  }

  encode(text: string): EncodedText {
    const own = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const truncated = own.length > this.budget;
    const kept = truncated ? own.slice(0, this.budget) : own;
    const ids = [...this.special.prefix, ...kept, ...this.special.suffix];
    return { ids, truncated, tokens: ids.length };
  }
}
