/**
 * ELD's n-gram language identifier (the `eld` package, Apache-2.0: its algorithm and its n-gram
 * database of 60 languages) in a form that costs a few µs a message instead of ~60: the database
 * is packed once into flat Int32Arrays and an open-addressing hash table keyed by the n-gram's
 * bytes (a Map of 80,000 strings cost ~200 ns a lookup, most of the time); a text becomes a buffer
 * of ELD's byte characters (words cut with a letter table instead of ELD's large Unicode regular
 * expression) and its n-grams are looked up from there without making a string; repeats are
 * skipped by a stamp per n-gram, not a set of strings; no result object is built.
 * Its answers equal ELD's on the same text (a unit test compares them on the committed corpus).
 *
 * ELD's algorithm: lower-case; every run of non-letters is a word break (an apostrophe inside or
 * before a word stays); each word as UTF-8 bytes, cut into 4-byte n-grams with a stride of 3 (the
 * first prefixed with a space, the last ending with one); each distinct n-gram adds its score (plus
 * ELD's base of 53) to every language that has it; the highest total wins.
 */
import { readFileSync } from "node:fs";

export type EldDatabaseSize = "extrasmall" | "small" | "medium" | "large";

export interface NgramScores {
  /** ISO 639-1 of the best language, or "" when no n-gram was known. */
  lang: string;
  /** Totals of the best and second-best languages. */
  best: number;
  second: number;
  /** Distinct n-grams read. */
  ngrams: number;
}

/** ELD subtracted this from every stored score to make its database smaller. */
const BASE_SCORE = 53;
/** ELD reads at most this many UTF-8 bytes: up to the first word break after 350, at most 380. */
const CUT_AFTER = 350;
const ENFORCE_CUT_AFTER = 380;
const MAX_WORD_BYTES = 70;
const SPACE = 0x20;
/** The longest n-gram in ELD's databases: 4 bytes, a space before and one after. Longer ones are never known. */
const MAX_KEY_BYTES = 6;

/** An n-gram of up to 6 bytes as two int32s (the length in the second keeps "ab" and "ab\0" apart). */
function keyLow(bytes: Uint8Array, from: number, to: number): number {
  let lo = 0;
  for (let i = from, shift = 0; i < to && shift < 32; i++, shift += 8) lo |= (bytes[i] as number) << shift;
  return lo;
}
function keyHigh(bytes: Uint8Array, from: number, to: number): number {
  let hi = (to - from) << 16;
  for (let i = from + 4, shift = 0; i < to; i++, shift += 8) hi |= (bytes[i] as number) << shift;
  return hi;
}
const slotOf = (lo: number, hi: number, mask: number) =>
  (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) ^ (lo >>> 15)) & mask;

/** ELD stores bytes as characters: its table of a character for each byte value. */
function eldByteDictionary(eldDir: URL): string[] {
  const source = readFileSync(new URL("dictionary.js", eldDir), "utf8");
  const body = source.slice(source.indexOf("["), source.lastIndexOf("]") + 1);
  // The table is an array literal of one-character strings in single quotes (a quote as '\'').
  const chars = [...body.matchAll(/'((?:\\'|[^'])*)'/g)].map((m) => (m[1] === "\\'" ? "'" : (m[1] as string)));
  if (chars.length !== 256) throw new Error(`eld's byte dictionary has ${chars.length} entries, not 256`);
  return chars;
}

/** Letters of the Basic Multilingual Plane, as ELD's word breaks see them. */
function letterTable(): Uint8Array {
  const table = new Uint8Array(0x10000);
  const letter = /\p{L}/u;
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c < 0xe000) continue;
    if (letter.test(String.fromCharCode(c))) table[c] = 1;
  }
  return table;
}

/**
 * ELD's data file: `export const ngramsData = {type:'S60',languages:{0:'am',…},…,ngrams:{' ab':{0:12,5:3},…}}`,
 * keys in single quotes (`\\'` the only escape) or bare. Its n-grams as keys and (language, score + base) pairs.
 */
export function parseEldDatabase(source: string): {
  languages: string[];
  keys: string[];
  starts: Int32Array;
  entries: Int32Array;
} {
  const fail = (why: string, at: number): never => {
    throw new Error(`eld's database is not in the expected form (${why} at ${at})`);
  };
  const ngramsAt = source.indexOf("ngrams:{");
  if (ngramsAt < 0) fail("no ngrams", 0);
  const head = source.slice(0, ngramsAt);
  const languages: string[] = [];
  for (const m of head.slice(head.indexOf("languages:{")).matchAll(/(\d+):'([a-z]+)'/g)) {
    languages[Number(m[1])] = m[2] as string;
  }
  if (languages.length === 0 || languages.length > 128) fail("languages", 0);
  const keys: string[] = [];
  const starts: number[] = [];
  const pairs: number[] = [];
  let i = ngramsAt + "ngrams:{".length;
  const readInt = () => {
    let n = 0;
    const from = i;
    while (source.charCodeAt(i) >= 0x30 && source.charCodeAt(i) <= 0x39) n = n * 10 + source.charCodeAt(i++) - 0x30;
    if (i === from) fail("a number", i);
    return n;
  };
  while (source[i] !== "}") {
    let key = "";
    if (source[i] === "'") {
      for (i++; source[i] !== "'"; i++) {
        if (i >= source.length) fail("an unterminated key", i);
        if (source[i] === "\\") i++;
        key += source[i];
      }
      i++;
    } else {
      const end = source.indexOf(":", i);
      key = source.slice(i, end);
      i = end;
    }
    if (key.length > MAX_KEY_BYTES) fail(`an n-gram longer than ${MAX_KEY_BYTES} bytes`, i);
    if (source[i] !== ":" || source[i + 1] !== "{") fail("':{'", i);
    i += 2;
    keys.push(key);
    starts.push(pairs.length);
    while (source[i] !== "}") {
      const lang = readInt();
      if (source[i++] !== ":") fail("':'", i);
      const negative = source[i] === "-";
      if (negative) i++;
      const score = readInt();
      pairs.push(lang, (negative ? -score : score) + BASE_SCORE);
      if (source[i] === ",") i++;
    }
    i++;
    if (source[i] === ",") i++;
  }
  starts.push(pairs.length);
  return { languages, keys, starts: Int32Array.from(starts), entries: Int32Array.from(pairs) };
}

const isApostrophe = (c: number) => c === 0x27 || c === 0x60 || c === 0x2019;

export class NgramDetector {
  private readonly totals: Float64Array;
  /** The call that last counted each n-gram: an n-gram counts once per text, as in ELD. */
  private readonly stamps: Uint32Array;
  private call = 0;
  /** ELD's byte characters of a text: a space, then each word followed by a space. */
  private readonly buffer = new Uint8Array(ENFORCE_CUT_AFTER + 8);
  private readonly wordStarts = new Int32Array(ENFORCE_CUT_AFTER);
  private readonly wordEnds = new Int32Array(ENFORCE_CUT_AFTER);
  private readonly byteChar: Uint8Array;

  private constructor(
    /** Open addressing: per slot, the n-gram's two key ints and its number (-1: empty). */
    private readonly slotLow: Int32Array,
    private readonly slotHigh: Int32Array,
    private readonly slotId: Int32Array,
    /** Per n-gram number, where its (language, score + base) pairs start in `entries`; one more at the end. */
    private readonly starts: Int32Array,
    private readonly entries: Int32Array,
    private readonly languages: readonly string[],
    dictionary: readonly string[],
    private readonly letters: Uint8Array,
  ) {
    this.totals = new Float64Array(languages.length);
    this.stamps = new Uint32Array(starts.length - 1);
    // Every character of ELD's table is Latin-1, so a byte per character holds it.
    this.byteChar = Uint8Array.from(dictionary, (c) => c.charCodeAt(0));
  }

  /**
   * Loads one of ELD's databases (`extrasmall`, `small`, `medium`, `large`) from the installed
   * package, synchronously (an event is built synchronously; this runs once, on first need). The
   * data file is an ES module of one object literal; it is read as text and packed as it is read,
   * so the 80,000-key object graph an import builds (and keeps, in the module cache) never exists.
   */
  static load(size: EldDatabaseSize): NgramDetector {
    // The package's exports name only its entry points; its data files sit beside them.
    const eldDir = new URL("../", import.meta.resolve("eld"));
    const source = readFileSync(new URL(`ngrams/${size}.js`, eldDir), "utf8");
    const { languages, keys, starts, entries } = parseEldDatabase(source);
    let tableSize = 1;
    while (tableSize < keys.length * 3) tableSize <<= 1;
    const slotLow = new Int32Array(tableSize);
    const slotHigh = new Int32Array(tableSize);
    const slotId = new Int32Array(tableSize).fill(-1);
    const bytes = new Uint8Array(MAX_KEY_BYTES);
    keys.forEach((key, n) => {
      for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
      const lo = keyLow(bytes, 0, key.length);
      const hi = keyHigh(bytes, 0, key.length);
      let slot = slotOf(lo, hi, tableSize - 1);
      while (slotId[slot] !== -1) slot = (slot + 1) & (tableSize - 1);
      slotLow[slot] = lo;
      slotHigh[slot] = hi;
      slotId[slot] = n;
    });
    return new NgramDetector(
      slotLow,
      slotHigh,
      slotId,
      starts,
      entries,
      languages,
      eldByteDictionary(eldDir),
      letterTable(),
    );
  }

  /** The languages the database knows, ISO 639-1. */
  get knownLanguages(): readonly string[] {
    return this.languages;
  }

  /** Scores `text` as ELD would. */
  score(text: string): NgramScores {
    const words = this.readWords(text.toLowerCase());
    const totals = this.totals;
    totals.fill(0);
    this.call = (this.call + 1) >>> 0 || 1;
    let ngrams = 0;
    for (let w = 0; w < words; w++) {
      const p = this.wordStarts[w] as number;
      const wordEnd = this.wordEnds[w] as number;
      const len = Math.min(wordEnd - p, MAX_WORD_BYTES);
      let j = 0;
      // The first n-gram takes the space before the word.
      for (; j + 4 < len; j += 3) ngrams += j === 0 ? this.add(p - 1, p + 4) : this.add(p + j, p + j + 4);
      // The last takes the space after it and, as in ELD, runs to the word's end even past 70 bytes.
      const from = len !== 3 ? Math.max(0, len - 4) : 0;
      ngrams += this.add(j === 0 ? p - 1 : p + from, wordEnd + 1);
    }
    let best = -1;
    let second = -1;
    for (let i = 0; i < totals.length; i++) {
      const v = totals[i] as number;
      if (v <= 0) continue;
      if (best < 0 || v > (totals[best] as number)) {
        second = best;
        best = i;
      } else if (second < 0 || v > (totals[second] as number)) {
        second = i;
      }
    }
    return {
      lang: best < 0 ? "" : (this.languages[best] as string),
      best: best < 0 ? 0 : (totals[best] as number),
      second: second < 0 ? 0 : (totals[second] as number),
      ngrams,
    };
  }

  /** Counts the n-gram in `buffer[from, to)` once per text; returns 1 when it was known and new. */
  private add(from: number, to: number): number {
    if (to - from > MAX_KEY_BYTES) return 0;
    const buf = this.buffer;
    const lo = keyLow(buf, from, to);
    const hi = keyHigh(buf, from, to);
    const mask = this.slotId.length - 1;
    let slot = slotOf(lo, hi, mask);
    let id = this.slotId[slot] as number;
    while (id !== -1 && (this.slotLow[slot] !== lo || this.slotHigh[slot] !== hi)) {
      slot = (slot + 1) & mask;
      id = this.slotId[slot] as number;
    }
    if (id === -1 || this.stamps[id] === this.call) return 0;
    this.stamps[id] = this.call;
    const entries = this.entries;
    const totals = this.totals;
    for (let k = this.starts[id] as number, end = this.starts[id + 1] as number; k < end; k += 2) {
      const lang = entries[k] as number;
      totals[lang] = (totals[lang] as number) + (entries[k + 1] as number);
    }
    return 1;
  }

  /**
   * Writes `lower`'s words into the buffer as ELD's byte characters, a space before each and one
   * after; ELD's word breaks and byte limits. Returns the number of words.
   */
  private readWords(lower: string): number {
    const letters = this.letters;
    const buf = this.buffer;
    let at = 1;
    buf[0] = SPACE;
    let words = 0;
    let wordStart = -1;
    let bytes = 0;
    for (let i = 0; i < lower.length; i++) {
      // Surrogates are not in the table: letters outside the BMP break words, as in ELD.
      const c = lower.charCodeAt(i);
      if (letters[c] !== 1) {
        // A run of non-letters is one break, except apostrophes that end the run (don't, 'n).
        let j = i;
        while (j < lower.length && letters[lower.charCodeAt(j)] !== 1) j++;
        let keep = j;
        while (keep > i && isApostrophe(lower.charCodeAt(keep - 1))) keep--;
        if (keep > i && wordStart >= 0) {
          this.wordStarts[words] = wordStart;
          this.wordEnds[words++] = at;
          buf[at++] = SPACE;
          wordStart = -1;
          // ELD counts the space as a byte, and stops at a break past 350 bytes.
          if (bytes++ > CUT_AFTER) return words;
        }
        // Kept apostrophes are read as characters of the next word.
        for (let k = keep; k < j && bytes <= ENFORCE_CUT_AFTER; k++) {
          if (wordStart < 0) wordStart = at;
          const n = this.put(lower.charCodeAt(k), at);
          at += n;
          bytes += n;
        }
        i = j - 1;
      } else {
        if (wordStart < 0) wordStart = at;
        const n = this.put(c, at);
        at += n;
        bytes += n;
      }
      if (bytes > ENFORCE_CUT_AFTER) break;
    }
    if (wordStart >= 0) {
      this.wordStarts[words] = wordStart;
      this.wordEnds[words++] = at;
      buf[at] = SPACE;
    }
    return words;
  }

  /** Writes BMP character `c` at `at` as ELD's byte characters; returns its UTF-8 length. */
  private put(c: number, at: number): number {
    const buf = this.buffer;
    const byteChar = this.byteChar;
    if (c < 0x80) {
      buf[at] = c;
      return 1;
    }
    if (c < 0x800) {
      buf[at] = byteChar[0xc0 | (c >> 6)] as number;
      buf[at + 1] = byteChar[0x80 | (c & 0x3f)] as number;
      return 2;
    }
    buf[at] = byteChar[0xe0 | (c >> 12)] as number;
    buf[at + 1] = byteChar[0x80 | ((c >> 6) & 0x3f)] as number;
    buf[at + 2] = byteChar[0x80 | (c & 0x3f)] as number;
    return 3;
  }
}
