/**
 * What a language identifier should not read: links and user mentions say nothing about the
 * language of a post but look like English n-grams ("http", "www", "user"), and a long post
 * is identified as well from its start as from all of it, at a fraction of the cost.
 */

/** Characters read at most; a post longer than this is identified from its start. */
export const MAX_DETECT_CHARS = 256;

// A token starting with http (a link, or a link a dataset masked as "http"), www., or @name.
const NOISE = /\bhttps?\S*|\bwww\.\S+|@\w+/gi;

/** The text with links and mentions removed, cut to `MAX_DETECT_CHARS`. */
export function cleanForDetection(text: string): string {
  const head = text.length > MAX_DETECT_CHARS * 2 ? text.slice(0, MAX_DETECT_CHARS * 2) : text;
  const cleaned = head.replace(NOISE, " ");
  return cleaned.length > MAX_DETECT_CHARS ? cleaned.slice(0, MAX_DETECT_CHARS) : cleaned;
}
