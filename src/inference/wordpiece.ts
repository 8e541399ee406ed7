/**
 * BERT's tokenizer (BertNormalizer without lowercasing or accent stripping, BertPreTokenizer,
 * WordPiece, `[CLS] text [SEP]`) in plain JavaScript, for the `tokenizer.json` files of that exact
 * shape — the multilingual cased DistilBERT's. The Rust library costs about 65 µs of CPU per tweet
 * here (its normalizer tracks alignments we never read), more than the whole budget of a message
 * around the model; this costs a few µs, on the event loop, with no thread hand-off. The character
 * classes come from the Rust library itself (`char-classes.ts`), and the unit tests compare the two
 * on the corpus, on random text and at the word-length limit. Any other shape uses the Rust library.
 */
import { ISOLATED, KEEP, REMOVED } from "./char-classes.js";

/** The parts of a `tokenizer.json` this encoder reads. */
export interface TokenizerJson {
  normalizer?: {
    type?: string;
    clean_text?: boolean;
    handle_chinese_chars?: boolean;
    strip_accents?: boolean | null;
    lowercase?: boolean;
  } | null;
  pre_tokenizer?: { type?: string } | null;
  post_processor?: {
    type?: string;
    single?: Array<{ SpecialToken?: { id: string }; Sequence?: { id: string } }>;
    sep?: [string, number];
    cls?: [string, number];
  } | null;
  model?: {
    type?: string;
    unk_token?: string;
    continuing_subword_prefix?: string;
    max_input_chars_per_word?: number;
    vocab?: Record<string, number>;
  };
  added_tokens?: Array<{
    id: number;
    content: string;
    special?: boolean;
    normalized?: boolean;
    lstrip?: boolean;
    rstrip?: boolean;
    single_word?: boolean;
  }>;
}

export interface WordPieceEncoding {
  ids: number[];
  truncated: boolean;
}

/** Split words remembered (each a few ids): about 6 MB at most. */
const SPLIT_CACHE_WORDS = 65_536;

export class WordPieceEncoder {
  private readonly splitWords = new Map<string, readonly number[]>();

  private constructor(
    private readonly vocab: Map<string, number>,
    /** Continuation pieces by their text without the prefix (`##ing` under `ing`). */
    private readonly continuations: Map<string, number>,
    /** The lengths (UTF-16 units) of the first pieces and of the continuations there are, longest first. */
    private readonly firstLengths: readonly number[],
    private readonly continuationLengths: readonly number[],
    private readonly unkId: number,
    private readonly clsId: number,
    private readonly sepId: number,
    /** Special tokens found in the raw text before anything else, longest first. */
    private readonly specials: ReadonlyArray<readonly [string, number]>,
    private readonly maxWordChars: number,
    private readonly classes: Uint8Array,
  ) {}

  /**
   * The encoder for a tokenizer.json of the supported shape, or undefined for any other (which the
   * Rust library then handles). `classes` is asked only for a supported shape.
   */
  static fromJson(json: TokenizerJson, classes: () => Uint8Array): WordPieceEncoder | undefined {
    if (!WordPieceEncoder.supports(json)) return undefined;
    const model = json.model as Required<Pick<NonNullable<TokenizerJson["model"]>, "vocab" | "unk_token">> &
      NonNullable<TokenizerJson["model"]>;
    const special = specialIds(json.post_processor) as { cls: string; sep: string };
    const added = json.added_tokens ?? [];
    const vocab = new Map(Object.entries(model.vocab));
    const prefix = model.continuing_subword_prefix ?? "##";
    const continuations = new Map<string, number>();
    for (const [piece, id] of vocab) {
      if (piece.startsWith(prefix)) continuations.set(piece.slice(prefix.length), id);
    }
    const lengths = (pieces: Iterable<string>) =>
      [...new Set(Array.from(pieces, (piece) => piece.length))].sort((a, b) => b - a);
    const unkId = vocab.get(model.unk_token);
    const clsId = vocab.get(special.cls) ?? added.find((t) => t.content === special.cls)?.id;
    const sepId = vocab.get(special.sep) ?? added.find((t) => t.content === special.sep)?.id;
    if (unkId === undefined || clsId === undefined || sepId === undefined) return undefined;
    const specials = added.map((t) => [t.content, t.id] as const).sort((a, b) => b[0].length - a[0].length);
    return new WordPieceEncoder(
      vocab,
      continuations,
      lengths(vocab.keys()),
      lengths(continuations.keys()),
      unkId,
      clsId,
      sepId,
      specials,
      model.max_input_chars_per_word ?? 100,
      classes(),
    );
  }

  /** Whether the tokenizer.json has the shape this encoder implements (cheap: no vocabulary is read). */
  static supports(json: TokenizerJson): boolean {
    const { normalizer, pre_tokenizer: pre, model } = json;
    return (
      normalizer?.type === "BertNormalizer" &&
      normalizer.clean_text === true &&
      normalizer.handle_chinese_chars === true &&
      normalizer.lowercase === false &&
      (normalizer.strip_accents === false ||
        normalizer.strip_accents === null ||
        normalizer.strip_accents === undefined) &&
      pre?.type === "BertPreTokenizer" &&
      model?.type === "WordPiece" &&
      model.vocab !== undefined &&
      model.unk_token !== undefined &&
      specialIds(json.post_processor) !== undefined &&
      // Only special tokens matched on the raw text, as BERT's are.
      (json.added_tokens ?? []).every((t) => t.special && !t.normalized && !t.lstrip && !t.rstrip && !t.single_word)
    );
  }

  /** `[CLS] pieces [SEP]`, cut to `maxLength` ids in all; `truncated` when pieces were cut. */
  encode(text: string, maxLength: number): WordPieceEncoding {
    const limit = Math.max(0, maxLength - 2);
    const ids = [this.clsId];
    let truncated = false;
    const push = (id: number) => {
      if (ids.length - 1 < limit) ids.push(id);
      else truncated = true;
    };
    if (this.specials.length > 0 && text.includes("[")) {
      this.encodeWithSpecials(text, push);
    } else {
      this.encodeSegment(text, 0, text.length, push);
    }
    ids.push(this.sepId);
    return { ids, truncated };
  }

  /** Special tokens in the raw text are ids of their own; the text between them is encoded as usual. */
  private encodeWithSpecials(text: string, push: (id: number) => void): void {
    let from = 0;
    for (let at = 0; at < text.length; ) {
      const match = this.specials.find(([content]) => text.startsWith(content, at));
      if (match) {
        this.encodeSegment(text, from, at, push);
        push(match[1]);
        at += match[0].length;
        from = at;
      } else {
        at++;
      }
    }
    this.encodeSegment(text, from, text.length, push);
  }

  /** Normalizes and splits `text[from, to)` into words, and each word into pieces. */
  private encodeSegment(text: string, from: number, to: number, push: (id: number) => void): void {
    const { classes } = this;
    // The word being read: a slice of the text while no removed character fell inside it.
    let start = -1;
    let parts: string | undefined;
    let chars = 0;
    const endWord = (end: number) => {
      if (start < 0) return;
      const word = parts === undefined ? text.slice(start, end) : parts + text.slice(start, end);
      this.encodeWord(word, chars, push);
      start = -1;
      parts = undefined;
      chars = 0;
    };
    for (let i = from; i < to; i++) {
      let cp = text.charCodeAt(i);
      let width = 1;
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < to) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          width = 2;
        }
      }
      const kind = classes[cp] as number;
      if (kind === KEEP) {
        if (start < 0) start = i;
        chars++;
      } else if (kind === REMOVED) {
        // The word goes on around it: "ab\u200bcd" is the word "abcd".
        if (start >= 0) {
          parts = (parts ?? "") + text.slice(start, i);
          start = i + width;
        }
      } else {
        // Whitespace or a word of its own.
        endWord(i);
        if (kind === ISOLATED) this.encodeWord(text.slice(i, i + width), 1, push);
      }
      i += width - 1;
    }
    endWord(to);
  }

  /** WordPiece: the whole word, or its longest known prefix then the longest known continuations. */
  private encodeWord(word: string, chars: number, push: (id: number) => void): void {
    // Too long is unknown even when the vocabulary has it (as in the Rust library).
    if (chars > this.maxWordChars) {
      push(this.unkId);
      return;
    }
    const whole = this.vocab.get(word);
    if (whole !== undefined) {
      push(whole);
      return;
    }
    const known = this.splitWords.get(word);
    if (known !== undefined) {
      for (const id of known) push(id);
      return;
    }
    const pieces = this.split(word);
    // Words repeat (Zipf): a split word is looked up once, until the cache is full and starts again.
    if (this.splitWords.size >= SPLIT_CACHE_WORDS) this.splitWords.clear();
    this.splitWords.set(word, pieces);
    for (const id of pieces) push(id);
  }

  /** The pieces of a word not in the vocabulary, or `[UNK]` alone when some part matches nothing. */
  private split(word: string): readonly number[] {
    const pieces: number[] = [];
    for (let start = 0; start < word.length; ) {
      const first = start === 0;
      const table = first ? this.vocab : this.continuations;
      let id: number | undefined;
      let end = start;
      // Greedy longest match, trying only the lengths the vocabulary has.
      for (const length of first ? this.firstLengths : this.continuationLengths) {
        end = start + length;
        if (end > word.length) continue;
        // Never between the two halves of a surrogate pair.
        const c = word.charCodeAt(end);
        if (end < word.length && c >= 0xdc00 && c <= 0xdfff) continue;
        id = table.get(word.slice(start, end));
        if (id !== undefined) break;
      }
      if (id === undefined) return [this.unkId];
      pieces.push(id);
      start = end;
    }
    return pieces;
  }
}

/** `[CLS]` and `[SEP]` of a single sequence: `[CLS] $A [SEP]` (TemplateProcessing or BertProcessing). */
function specialIds(post: TokenizerJson["post_processor"]): { cls: string; sep: string } | undefined {
  if (post?.type === "BertProcessing" && post.cls && post.sep) return { cls: post.cls[0], sep: post.sep[0] };
  if (post?.type !== "TemplateProcessing" || post.single?.length !== 3) return undefined;
  const [cls, sequence, sep] = post.single;
  if (!cls?.SpecialToken || sequence?.Sequence?.id !== "A" || !sep?.SpecialToken) return undefined;
  return { cls: cls.SpecialToken.id, sep: sep.SpecialToken.id };
}
