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

/** Distinct words remembered; when full the cache starts again (bounded, no bookkeeping). */
const WORD_CACHE_SIZE = 50_000;

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

/** Replaces the model's `encode` with the greedy one above (or the library's own), word by word, cached. */
export function speedUpWordPieces(model: WordModel): void {
  const library = model.encode.bind(model);
  const encodeWord = greedyWordPiece(model) ?? ((word: string) => library([word]));
  const cache = new Map<string, string[]>();
  const piecesOf = (word: string): string[] => {
    const cached = cache.get(word);
    if (cached !== undefined) return cached;
    const pieces = encodeWord(word);
    if (cache.size >= WORD_CACHE_SIZE) cache.clear();
    cache.set(word, pieces);
    return pieces;
  };
  model.encode = (words: string[]): string[] => {
    const out: string[] = [];
    for (const word of words) for (const piece of piecesOf(word)) out.push(piece);
    return out;
  };
}
