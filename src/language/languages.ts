/**
 * The languages the sentiment model was trained on, and the bounded set of values the metrics use
 * for a language: those twelve, `other` and `und`, so a feed in 200 languages adds 14 series per
 * label, not 200.
 */

/** `input.detectLanguage`: detect when the input has no language field, for every text, or never. */
export const DETECT_LANGUAGE_MODES = ["missing", "always", "off"] as const;
export type DetectLanguage = (typeof DETECT_LANGUAGE_MODES)[number];

/** ISO 639-1 codes of the model's training languages (its model card). */
export const SUPPORTED_LANGUAGES = ["en", "ar", "de", "es", "fr", "ja", "zh", "id", "hi", "it", "ms", "pt"] as const;

/** The code for "language not known": ISO 639-2's `und` (undetermined). */
export const UNDETERMINED = "und";
/** The metric value of every language outside the twelve. */
export const OTHER = "other";

const supported = new Set<string>(SUPPORTED_LANGUAGES);

/**
 * The ISO 639-1 primary language of a code as inputs write it (`EN`, `en-US`, `pt_BR`), lower case.
 * Anything else (`eng`, `English`) is kept lower-cased: it is simply not one of the twelve.
 */
export function primaryLanguage(code: string): string {
  const lower = code.trim().toLowerCase();
  const cut = lower.search(/[-_]/);
  return cut < 0 ? lower : lower.slice(0, cut);
}

/**
 * The most characters an input's language tag may have: the length RFC 5646 (BCP 47, section
 * 4.4.1) asks every implementation to take. Real tags (`en`, `pt-BR`, `zh-Hant-TW`) are far shorter.
 */
export const MAX_LANGUAGE_TAG_LENGTH = 35;

/**
 * A language tag's shape, BCP 47-ish: a primary subtag of 2 to 8 letters (`en`, `yue`, and the
 * `English` some feeds write) or a private-use / grandfathered `x-` / `i-`, then subtags of 1 to 8
 * letters and digits; `_` is taken for `-` (`pt_BR`). No spaces, controls or other scripts.
 */
export const LANGUAGE_TAG = /^(?:[A-Za-z]{2,8}|[IiXx][-_][A-Za-z0-9]{1,8})(?:[-_][A-Za-z0-9]{1,8})*$/;

/**
 * An input's language value as a tag for the event, or why not: `absent` (nothing, null or blank:
 * detection decides, as always), `unusable` (any other value that is not a string of a language
 * tag's shape within MAX_LANGUAGE_TAG_LENGTH: ignored and counted, so a 5,000-character value, a
 * lone surrogate or a NUL never reaches an event). Surrounding spaces are dropped; case is kept
 * (`primaryLanguage` compares without it).
 */
export function inputLanguageTag(value: unknown): { tag: string } | "absent" | "unusable" {
  if (value === undefined || value === null) return "absent";
  if (typeof value !== "string") return "unusable";
  const tag = value.trim();
  if (tag === "") return "absent";
  return tag.length <= MAX_LANGUAGE_TAG_LENGTH && LANGUAGE_TAG.test(tag) ? { tag } : "unusable";
}

/** Whether the model was trained on this language (a code as the input or the detector gives it). */
export function isSupportedLanguage(code: string): boolean {
  return supported.has(primaryLanguage(code));
}

/** The bounded metric value for an event's language: one of the twelve, `other`, or `und`. */
export function metricLanguage(code: string | undefined): string {
  if (code === undefined) return UNDETERMINED;
  const primary = primaryLanguage(code);
  if (supported.has(primary)) return primary;
  return primary === UNDETERMINED || primary === "" ? UNDETERMINED : OTHER;
}
