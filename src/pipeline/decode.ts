/**
 * Record bytes to a message the model can tag, or the reason it cannot be: every failure has a
 * dead-letter code, so a bad record is reported and never blocks what comes after it. Total: it
 * returns for any bytes and never throws (a throw would fail the batch, which is read again).
 */
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { isLosslessNumber, isSafeNumber, LosslessNumber, parse as parseLossless } from "lossless-json";
import type { Config } from "../config/index.js";
import { errorMessage } from "../errors/error-message.js";
import type { DeadLetterCode } from "../events/dead-letter.js";
import type { InputRecord } from "../events/input-record.js";
import { inputLanguageTag } from "../language/languages.js";
import type { ChunkSchemas } from "../schema-registry/schema-cache.js";
import { type RegistryFormat, SchemaDecoders } from "../schema-registry/schema-decoders.js";
import { wireSchemaId } from "../schema-registry/wire-format.js";

export interface DecodedMessage {
  kind: "message";
  id: string;
  text: string;
  lang?: string;
  /** The record had a language value that is not a language tag (`inputLanguageTag`): ignored, to be counted. */
  langIgnored?: true;
  /** With passthrough; numbers a double cannot hold exactly are LosslessNumbers (see serializeEvent). */
  input?: Record<string, unknown>;
}

export type Decoded = DecodedMessage | { kind: "dead"; code: DeadLetterCode; message: string } | { kind: "tombstone" };

type InputOptions = Config["input"];

/**
 * Deepest nesting of objects and arrays accepted where the whole value is re-read or re-written
 * (passthrough, a number id): JSON.parse is iterative, but lossless-json and JSON.stringify recurse
 * and overflow the stack a few thousand levels down. Real messages are a few levels deep.
 */
export const MAX_JSON_DEPTH = 128;

/** Prefix of an id made from the bytes of a record key that is not UTF-8. */
export const BASE64_ID_PREFIX = "base64:";
/** Prefix of an id that stands for a longer one (64 hex digits) or for the text (32 hex digits). */
export const SHA256_ID_PREFIX = "sha256:";

const utf8 = new TextDecoder("utf-8", { fatal: true });
/**
 * Where JSON.parse may round: 16 significant digits (2^53 has 16), or an exponent of 3 digits
 * (1e400 is Infinity, 1e-400 is 0). A match inside a string only costs the slower exact parse.
 */
const INEXACT_NUMBER = /\d(?:\.?\d){15}|\d[eE][+-]?\d{3}/;
/** A UTF-16 code unit that is half of a pair without its other half: no UTF-8 form exists. */
const LONE_SURROGATE = /\p{Surrogate}/u;

function at(value: unknown, path: string): unknown {
  let node = value;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    // Own properties only: "constructor" or "__proto__" must not reach Object.prototype.
    if (!Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Id of a message that has none: the same text always gets the same id, so re-posts de-duplicate. */
export function contentId(text: string): string {
  return `${SHA256_ID_PREFIX}${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
}

function hashedId(bytes: Buffer): string {
  return `${SHA256_ID_PREFIX}${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * `id`, or `sha256:` and the 64 hex digits of its SHA-256 when it has more than `maxBytes` UTF-8
 * bytes, so a hostile id cannot fill the dedup store. 64 digits, where a content id has 32, so the
 * two cannot be confused. `id` must be well-formed (no lone surrogate).
 */
export function boundedId(id: string, maxBytes: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most ids are decided without encoding them.
  if (id.length * 3 <= maxBytes || Buffer.byteLength(id, "utf8") <= maxBytes) return id;
  return hashedId(Buffer.from(id, "utf8"));
}

/** The id a record key gives: the key as text when it is UTF-8, else `base64:` and its bytes in base64. */
export function keyId(key: Buffer, maxBytes: number): string {
  // isUtf8 rejects what TextDecoder would replace with U+FFFD (keys that differ would collide).
  if (!isUtf8(key)) return boundedId(`${BASE64_ID_PREFIX}${key.toString("base64")}`, maxBytes);
  // Hashing the bytes equals hashing the decoded text: a 1 MB key is never turned into a string.
  return key.length > maxBytes ? hashedId(key) : key.toString("utf8");
}

/** Whether objects and arrays nest more than `limit` levels in `value` (level by level: any depth is safe). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  let level: object[] = typeof value === "object" && value !== null ? [value] : [];
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > limit) return true;
    const next: object[] = [];
    for (const node of level) {
      const items = node as Record<string, unknown>;
      // for-in over parsed JSON: own keys only, without the array Object.values would allocate.
      for (const key in items) {
        const item = items[key];
        if (typeof item === "object" && item !== null) next.push(item);
      }
    }
    level = next;
  }
  return false;
}

/** Safe numbers back to plain numbers, in place, so the exact path prints them as JSON.parse's would. */
function plainSafeNumbers(root: unknown): void {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node !== "object" || node === null || isLosslessNumber(node)) continue;
    const holder = node as Record<string, unknown>;
    for (const key of Object.keys(holder)) {
      const item = holder[key];
      if (isLosslessNumber(item)) {
        if (!isSafeNumber(item.value)) continue;
        const value = Number(item.value);
        // Assigning "__proto__" would set the prototype: define it, as JSON.parse does.
        if (key === "__proto__") {
          Object.defineProperty(holder, key, { value, writable: true, enumerable: true, configurable: true });
        } else {
          holder[key] = value;
        }
      } else if (typeof item === "object" && item !== null) {
        pending.push(item);
      }
    }
  }
}

/**
 * `raw` parsed exactly: a number stays a plain number when printing it gives back its text (so its
 * text is known), else it is a LosslessNumber; duplicate keys resolved as JSON.parse does.
 * `rewritten` counts LosslessNumbers a double holds exactly ("1.0", "1e2"), to turn back later.
 */
function parseExact(raw: string): { value: unknown; rewritten: number } {
  let rewritten = 0;
  const value = parseLossless(raw, null, {
    parseNumber: (text) => {
      const number = Number(text);
      if (String(number) === text) return number;
      if (isSafeNumber(text)) rewritten++;
      return new LosslessNumber(text);
    },
    onDuplicateKey: ({ newValue }) => newValue,
  });
  return { value, rewritten };
}

const dead = (code: DeadLetterCode, message: string): Decoded => ({ kind: "dead", code, message });

/** Parsed schemas of this thread (each processing thread decodes with its own). */
const decoders = new SchemaDecoders();

type Parsed = { value: unknown; raw: string | undefined } | { dead: Decoded };

/** A registry format's value: its header read, its payload decoded with the schema its id names. */
function decodeRegistered(
  value: Buffer,
  format: RegistryFormat,
  schemas: ChunkSchemas | undefined,
  plain: boolean,
): Parsed {
  const id = wireSchemaId(value);
  if (id === undefined) {
    return {
      dead: dead(
        "NO_MAGIC_BYTE",
        `input.format ${format} reads Confluent's wire format: a zero byte and a 4-byte schema id before the payload; this value ${value.length < 5 ? `has only ${value.length} bytes` : `starts with byte ${value[0]}`}`,
      ),
    };
  }
  const lookup = schemas?.get(id);
  if (!lookup) return { dead: dead("SCHEMA_NOT_FOUND", `schema ${id} was not looked up in the registry`) };
  if (!lookup.found) return { dead: dead("SCHEMA_NOT_FOUND", lookup.message) };
  const result = decoders.decode(format, id, lookup.schema, value, plain);
  if (!result.ok) return { dead: dead("INVALID_PAYLOAD", result.message) };
  return { value: result.value, raw: result.json };
}

export function decodeRecord(record: InputRecord, options: InputOptions, schemas?: ChunkSchemas): Decoded {
  try {
    return decode(record, options, schemas);
  } catch (e) {
    // Not expected (every case is handled below); a record must still never stop the worker.
    return dead("SCHEMA", `the record could not be decoded: ${errorMessage(e)}`);
  }
}

function decode(record: InputRecord, options: InputOptions, schemas: ChunkSchemas | undefined): Decoded {
  // First, whatever the value: a record's headers are bounded like its text (a tombstone's too).
  if (record.headerCount !== undefined && record.headerCount > options.maxHeaders) {
    return dead(
      "TOO_MANY_HEADERS",
      `the record has ${record.headerCount} headers, more than ${options.maxHeaders} (input.maxHeaders)`,
    );
  }
  if (record.value === null) return { kind: "tombstone" };
  // The value's text where there is one (JSON), so numbers that a double rounds can be read again exactly.
  let raw: string | undefined;
  let text: string;
  let fieldId: string | undefined;
  let lang: string | undefined;
  let langIgnored = false;
  let input: Record<string, unknown> | undefined;
  let parsed: unknown;
  if (options.format === "json" || options.format === "text") {
    try {
      raw = utf8.decode(record.value);
    } catch {
      return dead("INVALID_UTF8", "the record value is not valid UTF-8");
    }
    if (options.format === "json") {
      try {
        parsed = JSON.parse(raw);
      } catch (e) {
        return dead("INVALID_JSON", `the record value is not JSON: ${(e as Error).message}`);
      }
    }
  } else {
    const registered = decodeRegistered(record.value, options.format, schemas, options.passthrough);
    if ("dead" in registered) return registered.dead;
    parsed = registered.value;
    raw = registered.raw;
  }
  if (options.format === "text") {
    text = raw as string;
  } else {
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return dead("SCHEMA", `the record value is ${raw === undefined ? "decoded" : "JSON"} but not an object`);
    }
    const found = at(parsed, options.textField);
    if (typeof found !== "string") {
      return dead(
        "SCHEMA",
        `field ${options.textField} must be a string, found ${found === undefined ? "nothing" : typeof found}`,
      );
    }
    text = found;
    let foundId = at(parsed, options.idField);
    // An Avro long past 2^53, decoded exactly: its digits are the id.
    if (isLosslessNumber(foundId)) foundId = foundId.value;
    if (foundId !== undefined && !(typeof foundId === "number" || (typeof foundId === "string" && foundId))) {
      return dead("SCHEMA", `field ${options.idField} must be a non-empty string or a number`);
    }
    if (typeof foundId === "string") {
      if (LONE_SURROGATE.test(foundId)) {
        // It has no UTF-8 form: Redis and the output's readers would see U+FFFD, and distinct ids collide.
        return dead("SCHEMA", `field ${options.idField} has a lone surrogate (\\ud800-\\udfff): not Unicode text`);
      }
      fieldId = foundId;
    }
    // Not a reason to drop the message: detection decides, as when there is no language field.
    const foundLang = inputLanguageTag(at(parsed, options.langField));
    if (typeof foundLang === "object") lang = foundLang.tag;
    else langIgnored = foundLang === "unusable";

    // JSON.parse rounds numbers to doubles; the source text is read again, exactly, only when that
    // matters: a number id (its digits are the id), or passthrough with a number that may round.
    // Avro and Protobuf values are exact already (no text to read again).
    const exact =
      raw !== undefined && (typeof foundId === "number" || (options.passthrough && INEXACT_NUMBER.test(raw)));
    if ((exact || options.passthrough) && nestsDeeperThan(parsed, MAX_JSON_DEPTH)) {
      return dead("SCHEMA", `the record value nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`);
    }
    let value = parsed as Record<string, unknown>;
    if (typeof foundId === "number" && raw === undefined) fieldId = String(foundId);
    if (exact && raw !== undefined) {
      let result: ReturnType<typeof parseExact>;
      try {
        result = parseExact(raw);
      } catch (e) {
        // JSON.parse accepted it and the depth is bounded: not expected, but reported if it happens.
        return dead("INVALID_JSON", `the record value is not JSON: ${errorMessage(e)}`);
      }
      value = result.value as Record<string, unknown>;
      if (typeof foundId === "number") {
        const exactId = at(value, options.idField);
        fieldId = isLosslessNumber(exactId) ? exactId.value : String(exactId ?? foundId);
      }
      if (options.passthrough && result.rewritten > 0) plainSafeNumbers(value);
    }
    if (options.passthrough) input = value;
  }

  if (Buffer.byteLength(text, "utf8") > options.maxTextBytes) {
    return dead("TOO_LARGE", `the text has more than ${options.maxTextBytes} UTF-8 bytes (input.maxTextBytes)`);
  }
  if (text.trim() === "") return dead("EMPTY_TEXT", "the text is empty or only whitespace");

  const id =
    options.idFromKey && record.key?.length
      ? keyId(record.key, options.maxIdBytes)
      : fieldId !== undefined
        ? boundedId(fieldId, options.maxIdBytes)
        : contentId(text);
  return {
    kind: "message",
    id,
    text,
    ...(lang ? { lang } : {}),
    ...(langIgnored ? { langIgnored: true } : {}),
    ...(input ? { input } : {}),
  };
}
