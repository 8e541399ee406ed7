/**
 * Language identification: the re-packed n-gram scorer gives ELD's own answers; the identifier's
 * script shortcuts, `und` rule and Indonesian/Malay split; the event fields for each
 * `input.detectLanguage` mode; the bounded metric values; and the accuracy goal on the committed
 * 12-language corpus (texts of at least 20 characters).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { sentimentEventSchema } from "../../src/events/sentiment-event.js";
import { cleanForDetection, MAX_DETECT_CHARS } from "../../src/language/clean.js";
import { eventLanguage, sharedLanguageIdentifier } from "../../src/language/event-language.js";
import { IndonesianMalay, PackedTable, parseIdMsNgrams } from "../../src/language/id-ms.js";
import { INDONESIAN_WORDS, MALAY_WORDS } from "../../src/language/id-ms-words.js";
import { ID_MS_THRESHOLD, idMsWordScores, MIN_LETTERS } from "../../src/language/identify.js";
import {
  isSupportedLanguage,
  metricLanguage,
  primaryLanguage,
  SUPPORTED_LANGUAGES,
} from "../../src/language/languages.js";
import { NgramDetector } from "../../src/language/ngram-detector.js";
import { eventKind, RunCounters } from "../../src/pipeline/run-counters.js";

const root = resolve(import.meta.dirname, "../../..");
const corpus = readFileSync(join(root, "test/fixtures/corpus/parity-corpus.jsonl"), "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { id: string; lang: string; text: string });

/** Per model language, right and all of the corpus's texts of at least 20 characters. */
function corpusHits(right: (want: string, found: string) => boolean): Map<string, [number, number]> {
  const identifier = sharedLanguageIdentifier();
  const hits = new Map<string, [number, number]>();
  for (const item of corpus) {
    if (!SUPPORTED_LANGUAGES.includes(item.lang as never) || item.text.trim().length < 20) continue;
    const h = hits.get(item.lang) ?? [0, 0];
    if (right(item.lang, identifier.identify(item.text).lang)) h[0]++;
    h[1]++;
    hits.set(item.lang, h);
  }
  return hits;
}

describe("NgramDetector", () => {
  it("answers as eld does, on every corpus text and on hostile ones", async () => {
    const { eld } = (await import("eld/extrasmall")) as { eld: { detect(t: string): { language: string } } };
    const packed = NgramDetector.load("extrasmall");
    const texts = [
      ...corpus.map((i) => i.text),
      "",
      "   ",
      "don't stop rock 'n roll’s best",
      `${"a".repeat(100)} ${"é".repeat(90)}`,
      "x".repeat(2000),
      "🙂".repeat(50),
      "ǅungla İstanbul ﬁne",
      `a${"'".repeat(1000)}b`,
      `${"’".repeat(500)}x`,
      `${"word ".repeat(300)}`,
    ];
    for (const text of texts) assert.equal(packed.score(text).lang, eld.detect(text).language, text.slice(0, 60));
  });

  it("answers as eld does on 3,000 seeded random texts of mixed scripts, breaks and lengths", async () => {
    const { eld } = (await import("eld/extrasmall")) as { eld: { detect(t: string): { language: string } } };
    const packed = NgramDetector.load("extrasmall");
    const alphabet = [
      ..."abcdefghijklmnopqrstuvwxyzÄéñßçøœ  ,.!?'`’-_0123456789АБВгдежاللهمرحبا日本語のテキスト中文한국어हिन्दीไทย🙂🎉\u00a0\t\n",
    ];
    let state = 20261202;
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    for (let t = 0; t < 3000; t++) {
      const length = next(4) === 0 ? next(600) : next(80);
      let text = "";
      for (let i = 0; i < length; i++) text += alphabet[next(alphabet.length)];
      assert.equal(packed.score(text).lang, eld.detect(text).language, JSON.stringify(text));
    }
  });
});

describe("LanguageIdentifier", () => {
  const identifier = sharedLanguageIdentifier();
  const lang = (text: string) => identifier.identify(text).lang;

  it("reads the script where it names the language", () => {
    assert.equal(lang("今日はとても良い天気ですね"), "ja");
    assert.equal(lang("今天天气真好"), "zh");
    assert.equal(lang("오늘 날씨가 정말 좋네요"), "ko");
    assert.equal(identifier.identify("今天天气真好").confidence, 1);
  });

  it("says und for texts with too few letters, and for none", () => {
    assert.equal(lang("ok 👍"), "und");
    assert.equal(lang("😍😍😍"), "und");
    assert.equal(lang("1234 5678"), "und");
    assert.equal(lang("a".repeat(MIN_LETTERS - 1)), "und");
    assert.equal(lang("好"), "und", "one CJK character");
  });

  it("does not read links and mentions as English", () => {
    assert.equal(cleanForDetection("@user Hola http://t.co/x www.example.com/a fin"), "  Hola     fin");
    assert.equal(lang("@user @user http Qué día tan bonito hace hoy en Madrid http"), "es");
    assert.ok(cleanForDetection("palabra ".repeat(200)).length <= MAX_DETECT_CHARS);
  });

  it("tells Indonesian from Malay by the words they spell differently", () => {
    assert.equal(lang("Aku nggak bisa datang besok, maaf banget ya"), "id");
    assert.equal(lang("Saya tak boleh datang esok sebab kereta rosak"), "ms");
  });

  // Pairs written for this test (the same news in each standard), none of whose words is in the
  // word lists: the letter n-grams alone decide.
  const pairs: [id: string, ms: string][] = [
    [
      "Para pedagang di pasar tradisional mengeluhkan sepinya pembeli menjelang akhir tahun.",
      "Pihak berkuasa tempatan mengarahkan semua premis perniagaan ditutup sementara waktu.",
    ],
    [
      "Badan Meteorologi memperkirakan hujan lebat di wilayah pesisir timur hingga akhir pekan.",
      "Jabatan Meteorologi menjangkakan hujan lebat di kawasan pantai timur hingga hujung minggu.",
    ],
    [
      "Mahasiswa baru wajib mengikuti masa orientasi selama tiga hari di kampus.",
      "Pelajar baharu diwajibkan menyertai minggu suai kenal selama tiga hari di kampus.",
    ],
  ];

  it("tells Indonesian from Malay by letter n-grams where no listed word helps", () => {
    for (const [id, ms] of pairs) {
      assert.equal(idMsWordScores(id).listed, 0, id);
      assert.equal(idMsWordScores(ms).listed, 0, ms);
      assert.equal(lang(id), "id", id);
      assert.equal(lang(ms), "ms", ms);
    }
  });

  it("names languages the model was not trained on", () => {
    const found = identifier.identify("Dit is een prachtige dag om naar het strand te gaan met vrienden");
    assert.equal(found.lang, "nl");
    assert.ok(found.confidence > 0 && found.confidence <= 1);
  });

  it("is right on 97% of the corpus's texts of at least 20 characters in each language but id/ms, and tells those two from the rest", () => {
    // Indonesian and Malay are the weak split (docs/language.md): they are checked as one family
    // here, and apart in the next test; both are languages the model supports.
    const family = (l: string) => (l === "ms" ? "id" : l);
    const hits = corpusHits((want, found) =>
      want === "id" || want === "ms" ? family(found) === "id" : found === want,
    );
    assert.ok(hits.size >= 11, "zh has no text of 20 characters; every other language has");
    for (const [l, [ok, n]] of hits) assert.ok(ok / n >= 0.97 || n - ok <= 1, `${l}: ${ok}/${n}`);
  });
});

describe("IndonesianMalay", () => {
  it("loads the committed n-gram table, and its evidence leans the right way", () => {
    const table = parseIdMsNgrams();
    assert.ok(table.size > 10_000, `${table.size} n-grams`);
    const idMs = new IndonesianMalay(table);
    // Spellings that differ: -si/-syen, uang/wang, kualitas/kualiti, karena/kerana.
    assert.ok(idMs.evidence("televisi") > 0 && idMs.evidence("televisyen") < 0);
    assert.ok(idMs.evidence("kualitas") > idMs.evidence("kualiti"));
    assert.ok(idMs.evidence("Pemerintah daerah mengalokasikan dana") > ID_MS_THRESHOLD);
    assert.ok(idMs.evidence("Kerajaan negeri memperuntukkan peruntukan") < ID_MS_THRESHOLD);
    assert.equal(idMs.evidence("123 !!! 🙂"), 0, "no letter, no evidence");
    assert.equal(idMs.evidence("TELEVISYEN"), idMs.evidence("televisyen"), "case does not matter");
  });

  it("refuses a table that is not in its form", () => {
    assert.throws(() => parseIdMsNgrams("x abc", 0.1), /starts with x/);
    assert.throws(() => parseIdMsNgrams("3 abcdef", 0.1), /1–5 letters/);
    assert.equal(parseIdMsNgrams("-3 ab cd\n2 e", 0.5).size, 3);
  });

  it("reads each letter's longest known context from its packed table", () => {
    const idMs = new IndonesianMalay(parseIdMsNgrams("-3 ab cd\n2 e", 0.5));
    assert.equal(idMs.evidence("ab"), -1.5 / 2, "a: unknown; b after a: ab");
    assert.equal(idMs.evidence("cde"), (-1.5 + 1) / 3, "c: unknown; d: cd; e: neither cde nor de, so e");
    assert.equal(idMs.evidence("e e"), 1, "a word edge resets the context");
    // Every n-gram of the committed table is found again after packing, collisions included, and
    // a key it lacks is not.
    const table = parseIdMsNgrams();
    const packed = new PackedTable(table);
    for (const [key, value] of table) assert.equal(packed.get(key), value, `key ${key}`);
    let missing = 0;
    for (let key = 1; key < 40_000; key++) if (!table.has(key) && Number.isNaN(packed.get(key))) missing++;
    assert.equal(missing, 40_000 - 1 - [...table.keys()].filter((k) => k < 40_000).length);
  });

  it("keeps the corpus's Indonesian and Malay split at least where it was measured (docs/language.md)", () => {
    const identifier = sharedLanguageIdentifier();
    for (const [code, floor] of [
      ["id", 0.95],
      ["ms", 0.8],
    ] as const) {
      const texts = corpus.filter((i) => i.lang === code);
      const right = texts.filter((i) => identifier.identify(i.text).lang === code).length;
      assert.ok(right / texts.length >= floor, `${code}: ${right}/${texts.length}`);
    }
  });

  it("meets the goal of 97% macro accuracy on the corpus's texts of at least 20 characters, Indonesian and Malay apart", () => {
    const hits = corpusHits((want, found) => found === want);
    const macro = [...hits.values()].reduce((sum, [ok, n]) => sum + ok / n, 0) / hits.size;
    assert.ok(
      macro >= 0.97,
      `macro ${macro.toFixed(4)}: ${[...hits].map(([l, [ok, n]]) => `${l} ${ok}/${n}`).join(", ")}`,
    );
  });

  it("reads the generated lexicon: words only one language uses, none in both", () => {
    const none = { listed: 0, lexicon: 0 };
    assert.deepEqual(idMsWordScores("123 !!! 🙂"), none);
    // Spellings of the same word that differ (health, university, film), and Malay informal forms.
    assert.equal(idMsWordScores("kesehatan").lexicon, 1);
    assert.equal(idMsWordScores("kesihatan").lexicon, -1);
    assert.equal(idMsWordScores("Kesihatan universiti filem cikgu").lexicon, -4, "case does not matter");
    assert.equal(idMsWordScores("kualitas aktivitas").lexicon, 2);
    // Words both use, with a clitic or an affix, are in neither list.
    assert.equal(idMsWordScores("rumahnya berjalan dimakan").lexicon, 0);
    const listed = (data: string) => data.split(" ");
    const indonesian = new Set(listed(INDONESIAN_WORDS));
    assert.ok(indonesian.size > 1000 && listed(MALAY_WORDS).length > 5000);
    assert.deepEqual(
      listed(MALAY_WORDS).filter((w) => indonesian.has(w)),
      [],
    );
  });
});

describe("eventLanguage", () => {
  const fixed = () => ({ lang: "fr", confidence: 0.4567 });

  it("missing: the input's value when there is one, else the detected one", () => {
    assert.deepEqual(eventLanguage("en-US", "Bonjour à tous", "missing", fixed), {
      lang: "en-US",
      langSource: "input",
      languageSupported: true,
    });
    assert.deepEqual(eventLanguage(undefined, "Bonjour à tous", "missing", fixed), {
      lang: "fr",
      langSource: "detected",
      langConfidence: 0.457,
      languageSupported: true,
    });
  });

  it("always: the detected value, the input's kept in langInput", () => {
    assert.deepEqual(eventLanguage("en", "Bonjour à tous", "always", fixed), {
      lang: "fr",
      langSource: "detected",
      langConfidence: 0.457,
      languageSupported: true,
      langInput: "en",
    });
  });

  it("off: never detects", () => {
    const never = () => assert.fail("detected with detectLanguage off");
    assert.deepEqual(eventLanguage(undefined, "Bonjour à tous", "off", never), {});
    assert.deepEqual(eventLanguage("nl", "Hallo", "off", never), {
      lang: "nl",
      langSource: "input",
      languageSupported: false,
    });
  });

  it("und and unsupported languages are not supported, and the fields pass the event schema", () => {
    const und = eventLanguage(undefined, "👍", "missing", () => ({ lang: "und", confidence: 0 }));
    assert.equal(und.languageSupported, false);
    const event = {
      schema: "sentiment.v1",
      id: "a",
      source: { topic: "t", partition: 0, offset: "0", timestamp: "", timestampMs: "-1" },
      sentiment: { label: "neutral", score: 1, scores: { positive: 0, neutral: 1, negative: 0 } },
      ...eventLanguage("xx", "text", "always", () => ({ lang: "sv", confidence: 0.2 })),
      truncated: false,
      model: { name: "m", revision: "r" },
      processedAt: "2026-12-02T00:00:00.000Z",
    };
    assert.deepEqual(sentimentEventSchema.parse(event), event);
    assert.equal(event.languageSupported, false);
  });
});

describe("bounded language values", () => {
  it("maps codes to the 12, other or und", () => {
    assert.equal(primaryLanguage(" PT_br "), "pt");
    assert.equal(isSupportedLanguage("zh-Hant"), true);
    assert.equal(isSupportedLanguage("eng"), false);
    assert.equal(metricLanguage("EN"), "en");
    assert.equal(metricLanguage("sv"), "other");
    assert.equal(metricLanguage("und"), "und");
    assert.equal(metricLanguage(undefined), "und");
  });

  it("counts events by language and label, summing to the events", () => {
    const counters = new RunCounters();
    const event = (lang: string | undefined, label: "positive" | "neutral" | "negative") => ({
      ...(lang ? { lang } : {}),
      sentiment: { label, score: 1, scores: { positive: 0, neutral: 0, negative: 0 } },
    });
    counters.countEvents([event("en", "positive"), event("en-GB", "positive"), event("sv", "negative")].map(eventKind));
    counters.countEvents([eventKind(event(undefined, "neutral"))]);
    assert.equal(counters.events, 4);
    assert.deepEqual([...counters.eventsByKind.values()].map((k) => `${k.lang}/${k.label}=${k.count}`).sort(), [
      "en/positive=2",
      "other/negative=1",
      "und/neutral=1",
    ]);
  });
});
