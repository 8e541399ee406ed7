/**
 * Which language a post is in: script shortcuts where the script alone says it (kana: Japanese;
 * Han without kana: Chinese; Hangul: Korean), ELD's n-grams otherwise, Indonesian told from Malay
 * (ELD knows only Malay) by Lingua's letter n-grams of the two, the words they spell differently
 * and a lexicon of words only one of them uses, and `und` when the text has too few letters or two
 * languages tie. The confidence is reported, not used: a floor on it cost more right answers than
 * wrong ones on UMSAB's train split. Thresholds and word lists: docs/language.md.
 */
import { cleanForDetection } from "./clean.js";
import { IndonesianMalay, isOtherLetter } from "./id-ms.js";
import { INDONESIAN_WORDS, MALAY_WORDS } from "./id-ms-words.js";
import { UNDETERMINED } from "./languages.js";
import type { NgramDetector } from "./ngram-detector.js";

export interface Identified {
  /** ISO 639-1, or `und`. */
  lang: string;
  /** 0..1: the share of the script for a script shortcut; else how far the best language is ahead. */
  confidence: number;
}

/** Fewer letters than this (outside CJK scripts) is `und`: a word or two says little (UMSAB train: 0.5% und, 0.2 points fewer right). */
export const MIN_LETTERS = 8;
/** Fewer CJK characters than this is `und`. */
export const MIN_CJK = 2;

/**
 * Indonesian or Malay: the mean n-gram evidence per letter (id-ms.ts, Indonesian over Malay), plus
 * `ID_MS_WORD_WEIGHT` for each word of the lists below that is Indonesian and
 * `ID_MS_LEXICON_WEIGHT` for each word of the generated lexicon (id-ms-words.ts) that is, minus as
 * much for each Malay one; above `ID_MS_THRESHOLD` Indonesian, else Malay. All three were chosen on
 * a development set of independent texts (tools/langid/dev: sentences and posts written for it; the
 * Universal Declaration of Human Rights in both languages; the Debian system's program
 * translations), never on the test texts: docs/language.md. The threshold is below 0 because
 * Lingua's Malay model leans Malay on text common to both.
 */
export const ID_MS_THRESHOLD = -0.03;
export const ID_MS_WORD_WEIGHT = 0.05;
export const ID_MS_LEXICON_WEIGHT = 0.15;

/**
 * Words written one way in Indonesian and another in Malay (standard and common informal
 * spellings: bisa/boleh, uang/wang, karena/kerana, mau/mahu, ...), from published lists of the
 * two standards' differences, not from the test data.
 */
const INDONESIAN = new Set([
  "bisa",
  "nggak",
  "gak",
  "enggak",
  "ngga",
  "banget",
  "aja",
  "udah",
  "gimana",
  "kayak",
  "uang",
  "kantor",
  "mobil",
  "karena",
  "kapan",
  "gratis",
  "polisi",
  "sepeda",
  "mau",
  "bilang",
  "setelah",
  "sesudah",
  "kemarin",
  "kalian",
  "nonton",
  "keren",
  "makasih",
  "nih",
  "tuh",
  "emang",
  "sih",
  "dong",
  "kok",
  "bikin",
  // Standard vocabulary that differs (from the same published lists): the week, services, objects.
  "senin",
  "kamis",
  "jumat",
  "rabu",
  "apotek",
  "bioskop",
  "sepatu",
  "celana",
  "jendela",
  "kamar",
  "pesawat",
  "kulkas",
  "toko",
  "koran",
  "dokter",
  "obat",
  "libur",
  "ulang",
  "coba",
  "mencoba",
  "ketemu",
  "paham",
  "pikir",
  "kendaraan",
  "taksi",
  "stasiun",
  "telepon",
  "sebentar",
  "silakan",
  "pemerintah",
  "rupiah",
  "indonesia",
  "jakarta",
  // Common informal Indonesian (Jakarta) forms.
  "gue",
  "gua",
  "gw",
  "lo",
  "lu",
  "bgt",
  "gini",
  "gitu",
  "kalo",
  "abis",
  "deh",
  "yuk",
  "lho",
  "loh",
  "seru",
]);
const MALAY = new Set([
  "tak",
  "nak",
  "dah",
  "boleh",
  "kerana",
  "sahaja",
  "wang",
  "pejabat",
  "kereta",
  "percuma",
  "awak",
  "korang",
  "kat",
  "macam",
  "betul",
  "tengok",
  "polis",
  "basikal",
  "mahu",
  "cakap",
  "sikit",
  "je",
  "jom",
  "selepas",
  "semalam",
  "seronok",
  "encik",
  // Standard vocabulary that differs (from the same published lists): the week, services, objects.
  "isnin",
  "khamis",
  "jumaat",
  "ahad",
  "farmasi",
  "pawagam",
  "kasut",
  "seluar",
  "tingkap",
  "bilik",
  "kedai",
  "akhbar",
  "doktor",
  "ubat",
  "cuti",
  "cuba",
  "mencuba",
  "jumpa",
  "berjumpa",
  "faham",
  "fikir",
  "kenderaan",
  "teksi",
  "bas",
  "stesen",
  "telefon",
  "sekejap",
  "sila",
  "kerajaan",
  "ringgit",
  "malaysia",
  "bila",
  "ialah",
  "tiada",
  // Common informal Malay forms.
  "takde",
  "pastu",
  "camne",
  "camtu",
  "mcm",
  "ni",
  "tu",
  "la",
  "weh",
]);
/** Malay spells -tion loanwords -syen (televisyen, komisyen), Indonesian -si. */
const MALAY_SYEN = "syen";
/** Latinate nouns: Indonesian -itas (kualitas, fasilitas), Malay -iti (kualiti, fasiliti). */
const INDONESIAN_SUFFIX = "itas";
const MALAY_SUFFIX = "iti";

let lexicon: { indonesian: Set<string>; malay: Set<string> } | undefined;

/** The generated lexicon, read on first use (12,000 words, ~4 ms): only texts ELD calls Malay need it. */
function idMsLexicon(): { indonesian: Set<string>; malay: Set<string> } {
  lexicon ??= { indonesian: new Set(INDONESIAN_WORDS.split(" ")), malay: new Set(MALAY_WORDS.split(" ")) };
  return lexicon;
}

export interface IdMsWords {
  /** Indonesian minus Malay words of the hand-written lists and suffixes above. */
  listed: number;
  /** Indonesian minus Malay words of the generated lexicon. */
  lexicon: number;
}

/** The words of a text that mark it Indonesian or Malay, counted. A word is a run of letters. */
export function idMsWordScores(text: string): IdMsWords {
  const { indonesian, malay } = idMsLexicon();
  const lower = text.toLowerCase();
  let listed = 0;
  let lexicon = 0;
  let start = 0;
  // One pass over the text, slicing each word out: splitting on a Unicode regular expression cost
  // as much as the n-gram evidence.
  for (let i = 0; i <= lower.length; i++) {
    const c = i < lower.length ? lower.charCodeAt(i) : 0;
    if ((c >= 0x61 && c <= 0x7a) || isOtherLetter(lower, i, c)) continue;
    if (i > start) {
      const word = lower.slice(start, i);
      if (INDONESIAN.has(word) || word.endsWith(INDONESIAN_SUFFIX)) listed++;
      else if (MALAY.has(word) || word.endsWith(MALAY_SUFFIX) || word.endsWith(MALAY_SYEN)) listed--;
      if (indonesian.has(word)) lexicon++;
      else if (malay.has(word)) lexicon--;
    }
    start = i + 1;
  }
  return { listed, lexicon };
}

interface ScriptCounts {
  letters: number;
  kana: number;
  han: number;
  hangul: number;
}

function countScripts(text: string): ScriptCounts {
  const counts = { letters: 0, kana: 0, han: 0, hangul: 0 };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) counts.letters++;
    } else if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0x31f0 && c <= 0x31ff) || (c >= 0xff66 && c <= 0xff9d)) {
      counts.kana++;
      counts.letters++;
    } else if ((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff)) {
      counts.han++;
      counts.letters++;
    } else if ((c >= 0xac00 && c <= 0xd7af) || (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3130 && c <= 0x318f)) {
      counts.hangul++;
      counts.letters++;
    } else if (
      c >= 0xc0 &&
      !(c >= 0x2000 && c <= 0x2bff) &&
      !(c >= 0xd800 && c <= 0xdfff) &&
      c !== 0xd7 &&
      c !== 0xf7
    ) {
      // Roughly: a letter of another script (punctuation, symbols and emoji halves excluded).
      counts.letters++;
    }
  }
  return counts;
}

export class LanguageIdentifier {
  constructor(
    private readonly ngrams: NgramDetector,
    private readonly idMs: IndonesianMalay = new IndonesianMalay(),
  ) {}

  /** For a text ELD calls Malay: Indonesian or Malay (docs/language.md). */
  indonesianOrMalay(text: string): "id" | "ms" {
    const words = idMsWordScores(text);
    const evidence = this.idMs.evidence(text) + ID_MS_WORD_WEIGHT * words.listed + ID_MS_LEXICON_WEIGHT * words.lexicon;
    return evidence > ID_MS_THRESHOLD ? "id" : "ms";
  }

  identify(text: string): Identified {
    const cleaned = cleanForDetection(text);
    const s = countScripts(cleaned);
    const cjk = s.kana + s.han + s.hangul;
    // A script that names its language, when it is most of the letters.
    if (cjk >= MIN_CJK && cjk * 2 >= s.letters) {
      if (s.kana > 0 && s.kana + s.han >= s.hangul) return { lang: "ja", confidence: (s.kana + s.han) / s.letters };
      if (s.han >= s.hangul) return { lang: "zh", confidence: s.han / s.letters };
      return { lang: "ko", confidence: s.hangul / s.letters };
    }
    if (s.letters < MIN_LETTERS) return { lang: UNDETERMINED, confidence: 0 };
    const scored = this.ngrams.score(cleaned);
    if (scored.lang === "") return { lang: UNDETERMINED, confidence: 0 };
    const confidence = scored.best > 0 ? 1 - scored.second / scored.best : 0;
    if (confidence <= 0) return { lang: UNDETERMINED, confidence: 0 };
    const lang = scored.lang === "ms" ? this.indonesianOrMalay(cleaned) : scored.lang;
    return { lang, confidence };
  }
}
