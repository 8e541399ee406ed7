/**
 * The language fields of an event, from the input's language field and the setting
 * `input.detectLanguage`: `missing` (default) detects only when the input has none, `always`
 * detects every text and keeps the input's value in `langInput`, `off` copies the input's value
 * as before. The identifier is loaded once per process, on first need (about half a second).
 */
import { type Identified, LanguageIdentifier } from "./identify.js";
import { type DetectLanguage, isSupportedLanguage } from "./languages.js";
import { type EldDatabaseSize, NgramDetector } from "./ngram-detector.js";

export type { DetectLanguage } from "./languages.js";

/** ELD's `small` database: 0.4 points above `extrasmall` on tweets for 14 MB more; the larger ones add little (docs/language.md). */
export const ELD_DATABASE: EldDatabaseSize = "small";

export interface EventLanguage {
  lang?: string;
  langSource?: "input" | "detected";
  langConfidence?: number;
  langInput?: string;
  languageSupported?: boolean;
}

let shared: LanguageIdentifier | undefined;

/** The process's identifier, loaded on first call. */
export function sharedLanguageIdentifier(): LanguageIdentifier {
  shared ??= new LanguageIdentifier(NgramDetector.load(ELD_DATABASE));
  return shared;
}

/** Confidence as written in events: 3 decimals are plenty for a threshold, and keep events short. */
const rounded = (x: number) => Math.round(x * 1000) / 1000;

function detected(found: Identified): EventLanguage {
  return {
    lang: found.lang,
    langSource: "detected",
    langConfidence: rounded(found.confidence),
    languageSupported: isSupportedLanguage(found.lang),
  };
}

/**
 * The language fields for a message with `inputLang` (the input's field, when present) and
 * `text`; `identify` is the identifier to use (the shared one by default; tests pass their own).
 */
export function eventLanguage(
  inputLang: string | undefined,
  text: string,
  mode: DetectLanguage,
  identify: (text: string) => Identified = (t) => sharedLanguageIdentifier().identify(t),
): EventLanguage {
  const fromInput = (lang: string): EventLanguage => ({
    lang,
    langSource: "input",
    languageSupported: isSupportedLanguage(lang),
  });
  if (mode === "off") return inputLang ? fromInput(inputLang) : {};
  if (mode === "missing") return inputLang ? fromInput(inputLang) : detected(identify(text));
  return { ...detected(identify(text)), ...(inputLang ? { langInput: inputLang } : {}) };
}
