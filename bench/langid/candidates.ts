/**
 * The language identifiers measured by `langid.bench.ts`, each behind one shape: a text in, an
 * ISO 639-1 code (or `und`) and a confidence out. The libraries are not dependencies of the
 * project (only the chosen one is): the bench loads what is installed and skips the rest, e.g.
 * after `npm install --no-save cld3-asm franc franc-min tinyld`.
 */

export interface Guess {
  /** ISO 639-1, or the library's own code when it has no 639-1 one; `und` when it gives none. */
  lang: string;
  confidence: number;
}

export interface Candidate {
  name: string;
  /** npm package whose installed size is reported. */
  pkg: string;
  detect(text: string): Guess;
}

/** franc answers in ISO 639-3; the codes of the model's 12 languages (and a few neighbours) in 639-1. */
import { LanguageIdentifier } from "../../src/language/identify.js";
import { NgramDetector } from "../../src/language/ngram-detector.js";

const ISO3_TO_1: Record<string, string> = {
  eng: "en",
  arb: "ar",
  ara: "ar",
  deu: "de",
  spa: "es",
  fra: "fr",
  jpn: "ja",
  cmn: "zh",
  zho: "zh",
  ind: "id",
  hin: "hi",
  ita: "it",
  zlm: "ms",
  zsm: "ms",
  msa: "ms",
  por: "pt",
  nld: "nl",
  rus: "ru",
  pes: "fa",
  urd: "ur",
  kor: "ko",
  cat: "ca",
  glg: "gl",
  ron: "ro",
  tgl: "tl",
  jav: "jv",
  sun: "su",
};

const dynamicImport = (name: string): Promise<unknown> => import(name);

async function optional<T>(name: string, load: () => Promise<T>): Promise<T | undefined> {
  try {
    return await load();
  } catch (error) {
    process.stderr.write(`skipping ${name}: ${(error as Error).message.split("\n")[0]}\n`);
    return undefined;
  }
}

interface EldResult {
  language: string;
  getScores(): Record<string, number>;
  isReliable(): boolean;
}
interface EldModule {
  eld: { detect(text: string): EldResult };
}

function eldCandidate(size: string, mod: EldModule): Candidate {
  return {
    name: `eld-${size}`,
    pkg: "eld",
    detect(text) {
      const r = mod.eld.detect(text);
      if (!r.language) return { lang: "und", confidence: 0 };
      // getScores builds an object per call; only the winner's score is wanted.
      return { lang: r.language, confidence: r.isReliable() ? 1 : 0 };
    },
  };
}

interface Cld3Result {
  language: string;
  probability: number;
  is_reliable: boolean;
}
interface Cld3Module {
  loadModule(): Promise<{ create(minBytes: number, maxBytes: number): { findLanguage(text: string): Cld3Result } }>;
}

interface FrancModule {
  francAll(text: string, options?: { minLength?: number }): Array<[string, number]>;
}

interface TinyldModule {
  detectAll(text: string): Array<{ lang: string; accuracy: number }>;
}

function francCandidate(name: string, mod: FrancModule): Candidate {
  return {
    name,
    pkg: name,
    detect(text) {
      const [best] = mod.francAll(text);
      if (!best || best[0] === "und") return { lang: "und", confidence: 0 };
      return { lang: ISO3_TO_1[best[0]] ?? best[0], confidence: best[1] };
    },
  };
}

function tinyldCandidate(name: string, mod: TinyldModule): Candidate {
  return {
    name,
    pkg: "tinyld",
    detect(text) {
      const [best] = mod.detectAll(text);
      if (!best?.lang) return { lang: "und", confidence: 0 };
      return { lang: best.lang, confidence: best.accuracy };
    },
  };
}

/** Every candidate that is installed, loaded and ready. */
export async function loadCandidates(only?: readonly string[]): Promise<Candidate[]> {
  const want = (name: string) => !only || only.length === 0 || only.includes(name);
  const out: Candidate[] = [];
  // Ours: ELD's n-grams re-packed, with script shortcuts, Indonesian/Malay and the `und` rule.
  for (const size of ["extrasmall", "small"] as const) {
    if (!want(`ours-${size}`)) continue;
    const identifier = new LanguageIdentifier(NgramDetector.load(size));
    out.push({ name: `ours-${size}`, pkg: "eld", detect: (text) => identifier.identify(text) });
  }
  // ELD's own answers through the re-packed detector alone (no shortcuts, no `und` rule).
  if (want("eld-small-repacked")) {
    const packed = NgramDetector.load("small");
    out.push({
      name: "eld-small-repacked",
      pkg: "eld",
      detect: (text) => {
        const r = packed.score(text);
        return { lang: r.lang || "und", confidence: 0 };
      },
    });
  }
  for (const size of ["extrasmall", "small", "medium", "large"]) {
    if (!want(`eld-${size}`)) continue;
    const mod = await optional(`eld/${size}`, () => dynamicImport(`eld/${size}`) as Promise<EldModule>);
    if (mod) out.push(eldCandidate(size, mod));
  }
  if (want("cld3-asm")) {
    const mod = await optional("cld3-asm", () => dynamicImport("cld3-asm") as Promise<Cld3Module>);
    if (mod) {
      const identifier = (await mod.loadModule()).create(0, 1000);
      out.push({
        name: "cld3-asm",
        pkg: "cld3-asm",
        detect(text) {
          const r = identifier.findLanguage(text);
          // CLD3 says `und` itself; romanised variants (`hi-Latn`) are still that language.
          if (r.language === "und") return { lang: "und", confidence: 0 };
          const base = r.language.split("-")[0] as string;
          return { lang: base === "iw" ? "he" : base, confidence: r.probability };
        },
      });
    }
  }
  for (const name of ["franc", "franc-min"]) {
    if (!want(name)) continue;
    const mod = await optional(name, () => dynamicImport(name) as Promise<FrancModule>);
    if (mod) out.push(francCandidate(name, mod));
  }
  for (const [name, entry] of [
    ["tinyld-light", "tinyld/light"],
    ["tinyld", "tinyld"],
    ["tinyld-heavy", "tinyld/heavy"],
  ] as const) {
    if (!want(name)) continue;
    const mod = await optional(entry, () => dynamicImport(entry) as Promise<TinyldModule>);
    if (mod) out.push(tinyldCandidate(name, mod));
  }
  return out;
}
