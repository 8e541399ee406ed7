/**
 * Record decoding: exact ids (64-bit numbers, binary keys), bounded ids, record times a Date cannot
 * hold, and totality: whatever the bytes, a Decoded comes back and nothing throws.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { DEAD_LETTER_CODES, type SourceCoordinates } from "../../src/events/dead-letter.js";
import { recordTimestamp } from "../../src/events/record-timestamp.js";
import { sentimentEventSchema } from "../../src/events/sentiment-event.js";
import { serializeEvent, serializeJson } from "../../src/events/serialize-event.js";
import { MAX_LANGUAGE_TAG_LENGTH } from "../../src/language/languages.js";
import { buildEvent } from "../../src/pipeline/build-event.js";
import { type Decoded, type DecodedMessage, decodeRecord, MAX_JSON_DEPTH } from "../../src/pipeline/decode.js";
import { JsonLinesSink } from "../../src/sinks/jsonl-sink.js";

const defaults = loadConfig({ env: {} }).input;
type InputOptions = typeof defaults;

const source: SourceCoordinates = {
  topic: "posts",
  partition: 0,
  offset: "7",
  timestamp: "2026-11-27T10:00:00.000Z",
  timestampMs: "1795773600000",
};

function decode(value: Buffer | string | null, options: Partial<InputOptions> = {}, key: Buffer | null = null) {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  return decodeRecord({ key, value: bytes, source }, { ...defaults, ...options });
}

function message(decoded: Decoded): DecodedMessage {
  assert.equal(decoded.kind, "message", JSON.stringify(decoded));
  return decoded as DecodedMessage;
}

function deadCode(decoded: Decoded): string {
  assert.equal(decoded.kind, "dead", `expected a dead letter, got ${decoded.kind}`);
  return (decoded as { code: string }).code;
}

const sha256 = (bytes: Buffer | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

const positive = {
  label: "positive",
  score: 0.9,
  scores: { positive: 0.9, neutral: 0.07, negative: 0.03 },
  truncated: false,
  tokens: 3,
};

function eventOf(decoded: DecodedMessage) {
  return buildEvent(decoded, source, positive, { name: "m", revision: "r" }, new Date(0));
}

describe("decoding ids", () => {
  it("keeps every digit of a 64-bit number id, so two neighbours stay distinct", () => {
    const a = message(decode('{"id":1844674407370955161,"text":"hi"}'));
    const b = message(decode('{"id":1844674407370955162,"text":"hi"}'));
    assert.equal(a.id, "1844674407370955161");
    assert.equal(b.id, "1844674407370955162");
    assert.equal(message(decode('{"id":18446744073709551615,"text":"hi"}')).id, "18446744073709551615");
  });

  it("gives a string id and a number id with the same digits the same id", () => {
    for (const digits of ["1844674407370955161", "42", "-7", "1.50", "1e400"]) {
      const asNumber = message(decode(`{"id":${digits},"text":"hi"}`));
      const asString = message(decode(`{"id":"${digits}","text":"hi"}`));
      assert.equal(asNumber.id, digits);
      assert.equal(asString.id, digits);
    }
  });

  it("takes a number id from its source text, even one JSON.parse turns into Infinity", () => {
    assert.equal(message(decode('{"id":1e400,"text":"hi"}')).id, "1e400");
    assert.equal(message(decode('{"id":-0,"text":"hi"}')).id, "-0");
    // Duplicate keys: the last one wins, as with JSON.parse.
    assert.equal(message(decode('{"id":1,"id":2,"text":"hi"}')).id, "2");
    assert.equal(
      message(decode('{"meta":{"id":9007199254740993},"text":"hi"}', { idField: "meta.id" })).id,
      "9007199254740993",
    );
  });

  it("rejects an id that is neither a non-empty string nor a number, or has a lone surrogate", () => {
    for (const id of ['""', "null", "true", "{}", "[1]", '"a\\ud800"', '"\\udc00"']) {
      assert.equal(deadCode(decode(`{"id":${id},"text":"hi"}`)), "SCHEMA", id);
    }
    assert.equal(message(decode('{"id":"\\ud83d\\ude00","text":"hi"}')).id, "😀");
  });

  it("keeps a UTF-8 key as it is and writes any other key as base64", () => {
    const fromKey = (key: Buffer) => message(decode('{"text":"hi","id":"field"}', { idFromKey: true }, key)).id;
    assert.equal(fromKey(Buffer.from("user-7/ünï")), "user-7/ünï");
    assert.equal(fromKey(Buffer.from("\ufeffbom")), "\ufeffbom", "a leading BOM is part of the key");
    assert.equal(fromKey(Buffer.from([0xff])), "base64:/w==");
    assert.equal(fromKey(Buffer.from([0xfe])), "base64:/g==", "distinct bytes, distinct ids (no U+FFFD)");
    assert.equal(
      fromKey(Buffer.from([0x61, 0xed, 0xa0, 0x80])),
      "base64:Ye2ggA==",
      "an encoded surrogate is not UTF-8",
    );
    assert.equal(fromKey(Buffer.from([0xfb, 0xff, 0xbf])), "base64:+/+/", "standard alphabet with padding rules");
    assert.equal(message(decode('{"text":"hi","id":"field"}', { idFromKey: true }, Buffer.alloc(0))).id, "field");
  });
});

describe("bounding ids (input.maxIdBytes)", () => {
  const max = defaults.maxIdBytes;

  it("keeps an id of exactly the limit and hashes one a byte longer, the same way every time", () => {
    assert.equal(max, 512);
    const exact = "a".repeat(max);
    assert.equal(message(decode(JSON.stringify({ id: exact, text: "hi" }))).id, exact);
    const over = "a".repeat(max + 1);
    const hashed = message(decode(JSON.stringify({ id: over, text: "hi" }))).id;
    assert.match(hashed, /^sha256:[0-9a-f]{64}$/);
    assert.equal(hashed, sha256(over));
    assert.equal(message(decode(JSON.stringify({ id: over, text: "other" }))).id, hashed);
    assert.notEqual(message(decode(JSON.stringify({ id: `${over}b`, text: "hi" }))).id, hashed);
  });

  it("counts UTF-8 bytes, not characters", () => {
    const exact = `${"€".repeat(170)}ab`; // 3 × 170 + 2 = 512 bytes
    assert.equal(message(decode(JSON.stringify({ id: exact, text: "hi" }))).id, exact);
    const over = `${"€".repeat(170)}abc`;
    assert.equal(message(decode(JSON.stringify({ id: over, text: "hi" }))).id, sha256(Buffer.from(over, "utf8")));
  });

  it("applies to number ids, keys and base64 keys, and follows the configured limit", () => {
    const digits = "9".repeat(max + 1);
    assert.equal(message(decode(`{"id":${digits},"text":"hi"}`)).id, sha256(digits));
    assert.equal(message(decode(`{"id":${"9".repeat(max)},"text":"hi"}`)).id, "9".repeat(max));
    const key = Buffer.from("k".repeat(max + 1));
    assert.equal(message(decode('{"text":"hi"}', { idFromKey: true }, key)).id, sha256(key));
    // The limit applies to the id, `base64:` included: 378 bytes make 7 + 504, 379 make 7 + 508.
    const binary = Buffer.alloc(378, 0xff);
    assert.equal(
      message(decode('{"text":"hi"}', { idFromKey: true }, binary)).id,
      `base64:${binary.toString("base64")}`,
    );
    const longer = Buffer.alloc(379, 0xff);
    assert.equal(
      message(decode('{"text":"hi"}', { idFromKey: true }, longer)).id,
      sha256(`base64:${longer.toString("base64")}`),
    );
    assert.equal(message(decode(JSON.stringify({ id: "a".repeat(17), text: "hi" }), { maxIdBytes: 16 })).id.length, 71);
  });

  it("keeps content ids at 32 hex digits, so they are never mistaken for a hashed id", () => {
    assert.match(message(decode('{"text":"no id here"}')).id, /^sha256:[0-9a-f]{32}$/);
  });
});

describe("the input's language field (input.langField)", () => {
  const withLang = (lang: unknown, options: Partial<InputOptions> = {}) =>
    message(decode(JSON.stringify({ id: "l", text: "Das ist ein sehr schöner Tag heute", lang }), options));
  const hostile: Array<[string, unknown]> = [
    ["5,000 characters", "x".repeat(5000)],
    ["36 characters of a tag's shape", `en-${"abcdefgh-".repeat(3)}abcdef`],
    ["a lone surrogate", "\ud800"],
    ["a lone surrogate after a tag", "en\udc00"],
    ["a NUL", "en\u0000"],
    ["a NUL alone", "\u0000"],
    ["a newline inside", "en\nUS"],
    ["a space inside", "en US"],
    ["letters outside a-z", "ünï"],
    ["an empty subtag", "en--US"],
    ["a trailing dash", "en-"],
    ["a subtag of 9", "en-abcdefghi"],
    ["one letter", "e"],
    ["a digit first", "1en"],
    ["a number", 5],
    ["an object", { code: "en" }],
    ["true", true],
  ];

  it("keeps a language tag as written, case and all, without the spaces around it", () => {
    for (const tag of ["en", "EN", "pt-BR", "pt_BR", "zh-Hant-TW", "yue", "English", "x-klingon", "i-navajo"]) {
      const decoded = withLang(tag);
      assert.equal(decoded.lang, tag);
      assert.equal(decoded.langIgnored, undefined, tag);
    }
    assert.equal(withLang(" en-US\t").lang, "en-US");
    const longest = `en-${"abcdefgh-".repeat(3)}abcde`;
    assert.equal(longest.length, MAX_LANGUAGE_TAG_LENGTH);
    assert.equal(withLang(longest).lang, longest);
  });

  for (const [what, lang] of hostile) {
    it(`ignores ${what} and says so; the event's language is detected`, () => {
      const decoded = withLang(lang);
      assert.equal(decoded.lang, undefined);
      assert.equal(decoded.langIgnored, true);
      const event = eventOf(decoded);
      assert.equal(event.langSource, "detected");
      assert.equal(event.lang, "de");
      assert.ok(sentimentEventSchema.safeParse(event).success);
      // Nothing of the value reaches the event: it is the event of the same record without it.
      assert.equal(serializeEvent(event), serializeEvent(eventOf(withLang(undefined))));
    });
  }

  it("with detectLanguage off gives no lang, and with always no langInput, for an unusable value", () => {
    for (const [what, lang] of hostile) {
      const decoded = withLang(lang);
      const off = buildEvent(decoded, source, positive, { name: "m", revision: "r" }, new Date(0), "off");
      assert.equal(off.lang, undefined, what);
      const always = buildEvent(decoded, source, positive, { name: "m", revision: "r" }, new Date(0), "always");
      assert.equal(always.langInput, undefined, what);
    }
  });

  it("treats a missing, null or blank value as no language at all: not counted", () => {
    for (const lang of [undefined, null, "", "  "]) {
      const decoded = withLang(lang);
      assert.equal(decoded.lang, undefined);
      assert.equal(decoded.langIgnored, undefined, JSON.stringify(lang));
    }
  });

  it("keeps the whole input object, odd lang included, with passthrough", () => {
    const decoded = withLang("en\u0000", { passthrough: true });
    assert.equal(decoded.lang, undefined);
    assert.equal((decoded.input as { lang: string }).lang, "en\u0000");
  });
});

describe("bounding headers (input.maxHeaders)", () => {
  const withHeaders = (value: string | null, headerCount: number | undefined, maxHeaders = defaults.maxHeaders) =>
    decodeRecord(
      { key: null, value: value === null ? null : Buffer.from(value), source, headerCount },
      { ...defaults, maxHeaders },
    );

  it("dead-letters a record with more headers than the limit, a tombstone too, and takes one at the limit", () => {
    assert.equal(defaults.maxHeaders, 1000);
    const good = '{"id":"h","text":"hi"}';
    assert.equal(withHeaders(good, 1000).kind, "message");
    assert.deepEqual(withHeaders(good, 30_000), {
      kind: "dead",
      code: "TOO_MANY_HEADERS",
      message: "the record has 30000 headers, more than 1000 (input.maxHeaders)",
    });
    assert.equal((withHeaders("not json", 1001) as { code: string }).code, "TOO_MANY_HEADERS");
    assert.equal((withHeaders(null, 1001) as { code: string }).code, "TOO_MANY_HEADERS");
    assert.equal(withHeaders(null, 3).kind, "tombstone");
    assert.equal((withHeaders(good, 3, 2) as { code: string }).code, "TOO_MANY_HEADERS");
    // Records without headers at all (files, stdin) have no count.
    assert.equal(withHeaders(good, undefined).kind, "message");
  });
});

describe("passthrough numbers", () => {
  it("prints a big number of the input with its digits, in files and in Kafka's serialisation", async () => {
    const raw = '{"id":1844674407370955161,"text":"hi","n":{"big":18446744073709551615,"f":1.0,"x":1e400,"s":2}}';
    const decoded = message(decode(raw, { passthrough: true }));
    assert.equal(decoded.id, "1844674407370955161");
    const event = eventOf(decoded);
    assert.ok(sentimentEventSchema.safeParse(event).success);
    const text = serializeEvent(event);
    assert.match(
      text,
      /"input":\{"id":1844674407370955161,"text":"hi","n":\{"big":18446744073709551615,"f":1,"x":1e400,"s":2\}\}/,
    );
    assert.equal(serializeJson(event), text);
    const file = join(mkdtempSync(join(tmpdir(), "sw-decode-")), "events.jsonl");
    const sink = JsonLinesSink.open(file);
    await sink.write(event);
    await sink.close();
    assert.equal(readFileSync(file, "utf8"), `${text}\n`);
  });

  it("takes the exact path for a string id when a number may round, and keeps plain numbers otherwise", () => {
    const big = message(decode('{"id":"a","text":"hi","n":12345678.123456789}', { passthrough: true }));
    assert.match(serializeEvent(eventOf(big)), /"n":12345678.123456789\}/);
    const plain = message(decode('{"id":"a","text":"hi","n":1.5,"m":[1,2]}', { passthrough: true }));
    assert.deepEqual(plain.input, { id: "a", text: "hi", n: 1.5, m: [1, 2] });
    assert.equal(serializeEvent(eventOf(plain)), JSON.stringify(eventOf(plain)));
  });

  it("keeps a __proto__ key as data on the exact path", () => {
    const decoded = message(decode('{"id":5,"text":"hi","__proto__":{"polluted":1}}', { passthrough: true }));
    assert.equal(Object.getPrototypeOf(decoded.input), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.match(serializeEvent(eventOf(decoded)), /"__proto__":\{"polluted":1\}/);
  });
});

describe("record timestamps", () => {
  const cases: Array<[string | number | undefined | null, string, string]> = [
    [9e15, "", "9000000000000000"],
    [-9e15, "", "-9000000000000000"],
    ["abc", "", "-1"],
    [undefined, "", "-1"],
    [null, "", "-1"],
    ["0", "1970-01-01T00:00:00.000Z", "0"],
    ["1795773600000", "2026-11-27T10:00:00.000Z", "1795773600000"],
    [1795773600000, "2026-11-27T10:00:00.000Z", "1795773600000"],
    ["-1", "", "-1"],
    [-1, "", "-1"],
    ["-2", "1969-12-31T23:59:59.998Z", "-2"],
    [8.64e15, "+275760-09-13T00:00:00.000Z", "8640000000000000"],
    ["8640000000000001", "", "8640000000000001"],
    ["9223372036854775807", "", "9223372036854775807"],
    ["000012", "1970-01-01T00:00:00.012Z", "12"],
    ["-0", "1970-01-01T00:00:00.000Z", "0"],
    [Number.NaN, "", "-1"],
    [Number.POSITIVE_INFINITY, "", "-1"],
    [1.5, "", "-1"],
    ["1.5", "", "-1"],
    [" 12", "", "-1"],
    ["", "", "-1"],
    [1e300, "", BigInt(1e300).toString()],
  ];
  for (const [raw, timestamp, timestampMs] of cases) {
    it(`reads ${String(raw)}`, () => {
      assert.deepEqual(recordTimestamp(raw), { timestamp, timestampMs });
    });
  }

  it("never throws, whatever it is given", () => {
    for (const raw of [{}, [], 10n, Symbol("t"), () => 1, "9".repeat(100_000)]) {
      const time = recordTimestamp(raw as unknown as string);
      assert.match(time.timestampMs, /^-?[0-9]+$/);
    }
  });
});

describe("decoding hostile records", () => {
  const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

  it("dead-letters 100,000 unclosed brackets, and a deep array as not an object", () => {
    assert.equal(deadCode(decode("[".repeat(100_000))), "INVALID_JSON");
    assert.equal(deadCode(decode(deep(100_000))), "SCHEMA");
  });

  it("ignores deep nesting it does not read, and refuses it where the whole value is re-read or re-written", () => {
    const value = `{"id":"a","text":"hi","deep":${deep(100_000)}}`;
    assert.equal(message(decode(value)).id, "a");
    assert.equal(deadCode(decode(value, { passthrough: true })), "SCHEMA");
    assert.equal(deadCode(decode(`{"id":1,"text":"hi","deep":${deep(100_000)}}`)), "SCHEMA");
    // The limit itself: the object is one level, so MAX_JSON_DEPTH - 1 arrays fit.
    const atLimit = message(decode(`{"id":1,"text":"hi","deep":${deep(MAX_JSON_DEPTH - 1)}}`, { passthrough: true }));
    assert.ok(serializeEvent(eventOf(atLimit)).includes(deep(MAX_JSON_DEPTH - 1)));
    assert.equal(
      deadCode(decode(`{"id":1,"text":"hi","deep":${deep(MAX_JSON_DEPTH)}}`, { passthrough: true })),
      "SCHEMA",
    );
  });

  it("dead-letters bytes that are not UTF-8", () => {
    assert.equal(deadCode(decode(Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0x28]))), "INVALID_UTF8");
    assert.equal(deadCode(decode(Buffer.from([0xed, 0xa0, 0x80]), { format: "text" })), "INVALID_UTF8");
  });

  it("passes an escaped lone surrogate in the text on, and serialises it escaped", () => {
    const decoded = message(decode('{"id":"a","text":"hi \\ud800 there"}'));
    assert.equal(decoded.text, "hi \ud800 there");
    assert.match(serializeEvent(eventOf(message(decode('{"text":"\\ud800x"}', { passthrough: true })))), /\\ud800x/);
  });

  it("dead-letters raw control characters in a JSON string, but takes escaped ones and plain text", () => {
    assert.equal(deadCode(decode('{"text":"a\u0001b"}')), "INVALID_JSON");
    assert.equal(message(decode('{"text":"a\\u0000b"}')).text, "a\u0000b");
    assert.equal(message(decode("a\u0000\u0001b", { format: "text" })).text, "a\u0000\u0001b");
    assert.equal(deadCode(decode(" \t\u00a0", { format: "text" })), "EMPTY_TEXT");
  });

  it("hashes a 1 MB key", () => {
    const key = Buffer.alloc(1024 * 1024, "k");
    assert.equal(message(decode('{"text":"hi"}', { idFromKey: true }, key)).id, sha256(key));
  });

  it("returns a Decoded for every record of a seeded random mix, and never throws", () => {
    let state = 20261127;
    const next = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state;
    };
    const pieces = [
      '{"id":',
      '"text":"x"',
      "1844674407370955161",
      "1e400",
      "[",
      "]",
      "{",
      "}",
      ",",
      ":",
      '"\\ud800"',
      "\u0000",
      "\\",
    ];
    const optionSets: Array<Partial<InputOptions>> = [
      {},
      { passthrough: true },
      { idFromKey: true },
      { format: "text" },
    ];
    for (let i = 0; i < 2000; i++) {
      const parts: Buffer[] = [];
      for (let j = next() % 12; j > 0; j--) {
        parts.push(
          next() % 4 === 0 ? Buffer.from([next() % 256]) : Buffer.from(pieces[next() % pieces.length] as string),
        );
      }
      const value =
        i % 3 === 0
          ? Buffer.from(`{"text":"t","id":${Buffer.concat(parts).toString("latin1")}}`)
          : Buffer.concat(parts);
      const key = i % 5 === 0 ? Buffer.concat(parts.slice(0, 2)) : null;
      const decoded = decode(value, optionSets[i % optionSets.length], key);
      if (decoded.kind === "dead") assert.ok(DEAD_LETTER_CODES.includes(decoded.code));
      else if (decoded.kind === "message") {
        assert.ok(decoded.id.length > 0);
        assert.equal(typeof serializeEvent(eventOf(decoded)), "string");
      }
    }
  });
});
