/**
 * Record bytes to a message the model can tag, or the reason it cannot be: every failure has a
 * dead-letter code, so a bad record is reported and never blocks what comes after it.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Config } from "../config/index.js";
import type { DeadLetterCode, SourceCoordinates } from "../events/dead-letter.js";

export interface InputRecord {
  key: Buffer | null;
  /** null is a tombstone. */
  value: Buffer | null;
  source: SourceCoordinates;
}

export interface DecodedMessage {
  kind: "message";
  id: string;
  text: string;
  lang?: string;
  input?: Record<string, unknown>;
}

export type Decoded = DecodedMessage | { kind: "dead"; code: DeadLetterCode; message: string } | { kind: "tombstone" };

type InputOptions = Config["input"];

const utf8 = new TextDecoder("utf-8", { fatal: true });
const idSchema = z.union([z.string().min(1), z.number().finite()]);

function at(value: unknown, path: string): unknown {
  let node = value;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Id of a message that has none: the same text always gets the same id, so re-posts de-duplicate. */
export function contentId(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
}

const dead = (code: DeadLetterCode, message: string): Decoded => ({ kind: "dead", code, message });

export function decodeRecord(record: InputRecord, options: InputOptions): Decoded {
  if (record.value === null) return { kind: "tombstone" };
  let raw: string;
  try {
    raw = utf8.decode(record.value);
  } catch {
    return dead("INVALID_UTF8", "the record value is not valid UTF-8");
  }

  let text: string;
  let fieldId: unknown;
  let lang: string | undefined;
  let input: Record<string, unknown> | undefined;
  if (options.format === "text") {
    text = raw;
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      return dead("INVALID_JSON", `the record value is not JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return dead("SCHEMA", "the record value is JSON but not an object");
    }
    const found = at(parsed, options.textField);
    if (typeof found !== "string") {
      return dead(
        "SCHEMA",
        `field ${options.textField} must be a string, found ${found === undefined ? "nothing" : typeof found}`,
      );
    }
    text = found;
    fieldId = at(parsed, options.idField);
    if (fieldId !== undefined && !idSchema.safeParse(fieldId).success) {
      return dead("SCHEMA", `field ${options.idField} must be a non-empty string or a number`);
    }
    const foundLang = at(parsed, options.langField);
    if (typeof foundLang === "string" && foundLang) lang = foundLang;
    if (options.passthrough) input = parsed as Record<string, unknown>;
  }

  if (Buffer.byteLength(text, "utf8") > options.maxTextBytes) {
    return dead("TOO_LARGE", `the text has more than ${options.maxTextBytes} UTF-8 bytes (input.maxTextBytes)`);
  }
  if (text.trim() === "") return dead("EMPTY_TEXT", "the text is empty or only whitespace");

  const keyId = options.idFromKey && record.key?.length ? record.key.toString("utf8") : undefined;
  const id = keyId ?? (fieldId !== undefined ? String(fieldId) : contentId(text));
  return { kind: "message", id, text, ...(lang ? { lang } : {}), ...(input ? { input } : {}) };
}
