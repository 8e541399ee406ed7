/**
 * A faster WordPiece step for @huggingface/tokenizers, with the same output. On tweets the
 * library's WordPiece was half of all tokenizing time: for each piece it tries every shorter
 * prefix, building each candidate with an array slice and a join. Here the same greedy
 * longest-match runs on string slices, starts no longer than the longest vocabulary entry (a
 * longer candidate cannot match), and each word's pieces are remembered (a stream's words repeat).
 * The library encodes a list of words as the concatenation of each word's own pieces, so a
 * per-word answer is all it needs; anything this code does not recognise is left to the library.
 */
import type { Tokenizer } from "@huggingface/tokenizers";

type WordModel = NonNullable<Tokenizer["model"]>;

/**
 * Estimated bytes of remembered words (keys, pieces, map entries), both generations together: a
 * bound on memory whatever the input, as an entry count is not when a key can be 64 KB. About 100k
 * tweet words (~320 bytes each), enough for a stream's working set.
 */
const WORD_CACHE_BYTES = 32 * 1024 * 1024;
/** V8's cost of an entry besides its characters (map slot, string headers, array), measured on tweets. */
const ENTRY_OVERHEAD_BYTES = 128;
const PIECE_OVERHEAD_BYTES = 48;
/** Longest word worth caching when the model does not say (the library's BPE uses 256). */
const DEFAULT_MAX_CACHED_CHARS = 256;

/**
 * The library's WordPiece algorithm, for a model that is WordPiece: a word of more than
 * `max_input_chars_per_word` code points, or with a stretch no vocabulary entry covers, is the
 * unknown token; otherwise the longest vocabulary entry at each position, non-initial pieces
 * carrying the continuing-subword prefix. Undefined when the model is not a plain WordPiece.
 */
export function greedyWordPiece(model: WordModel): ((word: string) => string[]) | undefined {
  const config = model.config as { type?: unknown; continuing_subword_prefix?: unknown };
  const maxChars = (model as WordModel & { max_input_chars_per_word?: unknown }).max_input_chars_per_word;
  const prefix = config.continuing_subword_prefix;
  const unk = model.unk_token;
  if (config.type !== "WordPiece" || typeof prefix !== "string" || typeof maxChars !== "number" || unk === undefined) {
    return undefined;
  }
  // Entries that start a word, and the rest of entries that continue one, so a candidate needs no
  // concatenation to be looked up.
  const initial = model.tokens_to_ids;
  const continuing = new Set<string>();
  for (const entry of initial.keys()) if (entry.startsWith(prefix)) continuing.add(entry.slice(prefix.length));
  // Longest entry in code points (without the prefix): no longer candidate is worth a lookup.
  let longest = 0;
  for (const entry of initial.keys()) longest = Math.max(longest, [...entry].length);
  return (word) => {
    // A code point is at most two UTF-16 units: a word this long is unknown without counting.
    if (word.length > 2 * maxChars) return [unk];
    // Code-point boundaries, as the library's `[...word]` splits.
    const at = [0];
    for (const char of word) at.push((at[at.length - 1] as number) + char.length);
    const chars = at.length - 1;
    if (chars > maxChars) return [unk];
    const pieces: string[] = [];
    for (let start = 0; start < chars; ) {
      let found: string | undefined;
      const known = start > 0 ? continuing : initial;
      let end = Math.min(chars, start + longest);
      for (; end > start; end--) {
        const own = word.slice(at[start], at[end]);
        if (known.has(own)) {
          found = start > 0 ? prefix + own : own;
          break;
        }
      }
      if (found === undefined) return [unk];
      pieces.push(found);
      start = end;
    }
    return pieces;
  };
}

/**
 * A flat copy of a word. The pre-tokenizer's words are slices of the whole text, and V8 keeps a
 * slice's parent alive: a cached 10-character word would otherwise pin its 64 KB message.
 */
const ownCopy = (word: string): string => ` ${word}`.slice(1);

/**
 * Replaces the model's `encode` with the greedy one above (or the library's own), word by word,
 * cached. The cache holds only words short enough to be real words (a longer one is the unknown
 * token at once and not worth remembering) and is bounded in bytes by two generations: new words go
 * into the young one, a word found in the old one is copied back into the young one, and when the
 * young one is full it becomes the old one and the previous old one is dropped. So words in use
 * stay (LRU-like) without bookkeeping on every hit.
 */
export function speedUpWordPieces(model: WordModel, budgetBytes = WORD_CACHE_BYTES): void {
  const library = model.encode.bind(model);
  const encodeWord = greedyWordPiece(model) ?? ((word: string) => library([word]));
  const maxChars = (model as WordModel & { max_input_chars_per_word?: unknown }).max_input_chars_per_word;
  // UTF-16 length is at least the code-point count, so every word too long for the model is left
  // out; a rare astral-heavy word just under the limit is only recomputed.
  const maxCached = typeof maxChars === "number" ? maxChars : DEFAULT_MAX_CACHED_CHARS;
  const generationBytes = budgetBytes / 2;
  let young = new Map<string, string[]>();
  let old = new Map<string, string[]>();
  let youngBytes = 0;
  const remember = (word: string, pieces: string[]): void => {
    if (youngBytes >= generationBytes) {
      old = young;
      young = new Map();
      youngBytes = 0;
    }
    young.set(word, pieces);
    youngBytes += ENTRY_OVERHEAD_BYTES + 2 * word.length + PIECE_OVERHEAD_BYTES * pieces.length;
  };
  const piecesOf = (word: string): string[] => {
    const cached = young.get(word);
    if (cached !== undefined) return cached;
    if (word.length > maxCached) return encodeWord(word);
    const own = ownCopy(word);
    const previous = old.get(own);
    if (previous !== undefined) {
      remember(own, previous);
      return previous;
    }
    // Pieces cut from the copy, so they do not pin the text either.
    const pieces = encodeWord(own);
    remember(own, pieces);
    return pieces;
  };
  model.encode = (words: string[]): string[] => {
    const out: string[] = [];
    for (const word of words) for (const piece of piecesOf(word)) out.push(piece);
    return out;
  };
}
