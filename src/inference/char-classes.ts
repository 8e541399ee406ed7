/**
 * What BERT's normalizer and pre-tokenizer do with each character, read from the Rust library
 * itself rather than from JavaScript's Unicode tables: `tokenizers` decides with the categories of
 * its own Unicode crates, of another Unicode version than V8's. The table the encoder uses is
 * `bert-char-classes.ts`, written by `node scripts/bert-char-classes.mjs` (after `npm run build`)
 * from `readCharClasses`; a unit test reads the installed library again and compares, so an
 * upgrade that changes a class fails CI instead of changing token ids.
 */
import type { Normalizer, PreTokenizer } from "tokenizers";
import { BERT_CHAR_CLASS_RUNS } from "./bert-char-classes.js";

/** A character the encoder keeps inside a word. */
export const KEEP = 0;
/** Removed by `clean_text` (NUL, U+FFFD, controls, formats, unassigned, private use; a lone surrogate). */
export const REMOVED = 1;
/** Whitespace: ends a word. */
export const SPACE = 2;
/** Punctuation or a CJK ideograph: a word of its own. */
export const ISOLATED = 3;

const LAST_CODE_POINT = 0x10ffff;

let bertClasses: Uint8Array | undefined;

/** The committed table, one class per code point (decoded once a process). */
export function bertCharClasses(): Uint8Array {
  if (!bertClasses) {
    bertClasses = new Uint8Array(LAST_CODE_POINT + 1);
    let at = 0;
    for (let i = 0; i < BERT_CHAR_CLASS_RUNS.length; i += 2) {
      const length = BERT_CHAR_CLASS_RUNS[i] as number;
      bertClasses.fill(BERT_CHAR_CLASS_RUNS[i + 1] as number, at, at + length);
      at += length;
    }
  }
  return bertClasses;
}

/** The table as runs `[length, class, length, class, …]`, the form it is committed in. */
export function toRuns(classes: Uint8Array): number[] {
  const runs: number[] = [];
  for (let start = 0; start < classes.length; ) {
    let end = start + 1;
    while (end < classes.length && classes[end] === classes[start]) end++;
    runs.push(end - start, classes[start] as number);
    start = end;
  }
  return runs;
}
/** Code points asked one by one per call: the calls stay cheap and their strings small. */
const SLICE = 0x2000;
const SEPARATOR = "a";
const SEPARATOR_CODE = 0x61;

/**
 * One class per code point (1.1 MB), in about a hundred calls. A range whose characters the
 * normalizer removes altogether (most of the unassigned planes) is settled by one call; otherwise
 * each code point is normalized between separators, `a c₁ a c₂ a …` (nothing between two
 * separators: removed; a space: whitespace; a character padded with spaces: a CJK ideograph), and
 * the kept ones are pre-tokenized the same way: a piece of one character other than the separator
 * is punctuation (any other character stays glued to the separators around it).
 */
export function readCharClasses(normalizer: Normalizer, preTokenizer: PreTokenizer): Uint8Array {
  const classes = new Uint8Array(LAST_CODE_POINT + 1);
  // A lone surrogate reaches Rust as U+FFFD, which clean_text removes.
  classes.fill(REMOVED, 0xd800, 0xe000);
  const read = (start: number, end: number) => {
    const points: number[] = [];
    for (let cp = start; cp < end; cp++) {
      if ((cp < 0xd800 || cp > 0xdfff) && cp !== SEPARATOR_CODE) points.push(cp);
    }
    if (points.length === 0) return;
    if (normalizer.normalizeString(points.map((cp) => String.fromCodePoint(cp)).join("")) === "") {
      classes.fill(REMOVED, start, end);
      classes[SEPARATOR_CODE] = KEEP;
      return;
    }
    if (end - start > SLICE) {
      const middle = start + Math.floor((end - start) / 2);
      read(start, middle);
      read(middle, end);
      return;
    }
    const probe = (cps: number[]) => SEPARATOR + cps.map((cp) => String.fromCodePoint(cp)).join(SEPARATOR) + SEPARATOR;
    const segments = normalizer.normalizeString(probe(points)).split(SEPARATOR).slice(1, -1);
    if (segments.length !== points.length) {
      throw new Error(
        `the tokenizer's normalizer changed the probe text (${segments.length} of ${points.length} characters)`,
      );
    }
    const kept: number[] = [];
    for (const [i, segment] of segments.entries()) {
      const cp = points[i] as number;
      if (segment === "") classes[cp] = REMOVED;
      else if (segment === " ") classes[cp] = SPACE;
      else if (segment.length > 1 && segment.startsWith(" ") && segment.endsWith(" ")) classes[cp] = ISOLATED;
      else kept.push(cp);
    }
    for (const [piece] of preTokenizer.preTokenizeString(probe(kept))) {
      const cp = piece.codePointAt(0) as number;
      if (piece !== SEPARATOR && piece.length === String.fromCodePoint(cp).length) classes[cp] = ISOLATED;
    }
  };
  for (let start = 0; start <= LAST_CODE_POINT; start += SLICE * 16)
    read(start, Math.min(start + SLICE * 16, LAST_CODE_POINT + 1));
  return classes;
}
