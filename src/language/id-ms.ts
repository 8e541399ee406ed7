/**
 * Indonesian or Malay, for a text ELD calls Malay (ELD has no Indonesian). Each letter of each
 * word adds log P_id − log P_ms of itself given up to four letters before it in the word, read from
 * Lingua's Indonesian and Malay n-gram models (the longest known context; tools/langid/build-id-ms.mjs
 * makes the table, id-ms-ngrams.ts). The mean over the letters is the evidence: above
 * `ID_MS_THRESHOLD` Indonesian, else Malay. Letters outside a–z break no word but match nothing.
 * Cost: one lookup in a packed table per letter and context length, for these texts only.
 */
import { ID_MS_NGRAMS, ID_MS_STEP } from "./id-ms-ngrams.js";

/** Bits per letter in a key: a–z are 1..26, any other letter 27 (0 never occurs, so lengths differ). */
const BITS = 5;
const OTHER_LETTER = 27;
const MAX_N = 5;
const KEY_MASK = (1 << (BITS * MAX_N)) - 1;

function keyOf(gram: string): number {
  let key = 0;
  for (let i = 0; i < gram.length; i++) key = (key << BITS) | (gram.charCodeAt(i) - 0x60);
  return key;
}

/** The table: key of an n-gram (n ≤ 5) → its difference in nats. */
export function parseIdMsNgrams(data: string = ID_MS_NGRAMS, step: number = ID_MS_STEP): Map<number, number> {
  const table = new Map<number, number>();
  for (const line of data.split("\n")) {
    const grams = line.split(" ");
    const value = Number(grams[0]) * step;
    if (!Number.isFinite(value)) throw new Error(`id/ms n-gram data: a line starts with ${grams[0]}`);
    for (let i = 1; i < grams.length; i++) {
      const gram = grams[i] as string;
      if (!/^[a-z]{1,5}$/.test(gram)) throw new Error(`id/ms n-gram data: ${gram} is not 1–5 letters a–z`);
      table.set(keyOf(gram), value);
    }
  }
  return table;
}

const LETTER = /\p{L}/u;

/**
 * Whether the character at `i`, of code `c`, is a letter outside a–z (é, ß, …): a letter of the
 * word it is in, not a word edge. The n-gram evidence and the word lists (identify.ts) read the
 * same words through it.
 */
export function isOtherLetter(text: string, i: number, c: number): boolean {
  return c >= 0xc0 && LETTER.test(text[i] as string);
}

/**
 * The table packed for lookups: open addressing over typed arrays, keyed by the n-gram's integer
 * key (never 0, which marks an empty slot). A `Map` cost one hash-table probe through V8's generic
 * path per letter and context length, most of the time of a text ELD calls Malay.
 */
export class PackedTable {
  private readonly keys: Int32Array;
  private readonly values: Float64Array;
  private readonly shift: number;

  constructor(table: Map<number, number>) {
    let bits = 4;
    while (1 << bits < table.size * 2) bits++;
    this.keys = new Int32Array(1 << bits);
    this.values = new Float64Array(1 << bits);
    this.shift = 32 - bits;
    const mask = (1 << bits) - 1;
    for (const [key, value] of table) {
      let slot = this.slot(key);
      while (this.keys[slot] !== 0) slot = (slot + 1) & mask;
      this.keys[slot] = key;
      this.values[slot] = value;
    }
  }

  private slot(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.shift;
  }

  /** The value of a key, or NaN when the table lacks it. */
  get(key: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    for (let slot = this.slot(key); ; slot = (slot + 1) & mask) {
      const k = keys[slot] as number;
      if (k === key) return this.values[slot] as number;
      if (k === 0) return Number.NaN;
    }
  }
}

export class IndonesianMalay {
  private readonly table: PackedTable;

  constructor(table: Map<number, number> = parseIdMsNgrams()) {
    this.table = new PackedTable(table);
  }

  /** Mean log-likelihood ratio per letter, Indonesian over Malay (0 when the text has no letter). */
  evidence(text: string): number {
    const table = this.table;
    let sum = 0;
    let letters = 0;
    let key = 0;
    let length = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      let code: number;
      if (c >= 0x61 && c <= 0x7a) code = c - 0x60;
      else if (isOtherLetter(text, i, c)) code = OTHER_LETTER;
      else {
        length = 0;
        continue;
      }
      key = ((key << BITS) | code) & KEY_MASK;
      if (length < MAX_N) length++;
      letters++;
      for (let n = length; n >= 1; n--) {
        const d = table.get(key & ((1 << (BITS * n)) - 1));
        // The longest context the table knows.
        if (!Number.isNaN(d)) {
          sum += d;
          break;
        }
      }
    }
    return letters === 0 ? 0 : sum / letters;
  }
}
