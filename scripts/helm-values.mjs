#!/usr/bin/env node
// The Helm chart's values table, generated from the helm-docs style comments of its values.yaml,
// so the README cannot drift from the values. A key is documented by the comment block right
// above it when that block starts with `# -- `; the lines after it continue the description, and
// a line `# @default -- text` replaces the default shown (for objects too long for a cell). Other
// comments are notes for the reader of values.yaml only.
//
//   node scripts/helm-values.mjs           rewrites the table between the markers of the chart's README
//   node scripts/helm-values.mjs --check   exits 1 when the committed table is stale
//   (--chart DIR: another chart directory; `npm run docs` runs the first form)
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { parse } from "yaml";

export const VALUES_START = "<!-- values:start (generated from values.yaml by `npm run docs`; do not edit) -->";
export const VALUES_END = "<!-- values:end -->";

const KEY = /^(\s*)([A-Za-z0-9_.-]+):(\s|$)/;

/** The documented keys of a values.yaml, in file order: { path, description, default? }. */
export function documentedValues(yamlText) {
  const docs = [];
  const stack = []; // { indent, key } of the maps we are in
  let comment = [];
  for (const line of yamlText.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "") {
      comment = [];
      continue;
    }
    if (trimmed.startsWith("#")) {
      comment.push(trimmed.replace(/^#\s?/, ""));
      continue;
    }
    const key = KEY.exec(line);
    if (key) {
      const indent = key[1].length;
      while (stack.length && stack.at(-1).indent >= indent) stack.pop();
      const path = [...stack.map((s) => s.key), key[2]];
      stack.push({ indent, key: key[2] });
      if (comment[0]?.startsWith("-- ")) {
        const description = [];
        let shown;
        for (const [i, text] of comment.entries()) {
          const override = /^@default -- (.*)$/.exec(text);
          if (override) shown = override[1];
          else description.push(i === 0 ? text.slice(3) : text);
        }
        docs.push({
          path: path.join("."),
          description: description.join(" ").replace(/\s+/g, " ").trim(),
          default: shown,
        });
      }
    }
    // A list item or a flow continuation documents nothing.
    comment = [];
  }
  return docs;
}

function valueAt(values, path) {
  return path.split(".").reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), values);
}

/** A default as a table cell: scalars as written, small collections inline, large ones by reference. */
function shownDefault(value, path, documented) {
  if (typeof value === "string") return value === "" ? '`""`' : `\`${value}\``;
  if (value === null || typeof value !== "object") return `\`${String(value)}\``;
  if (documented.some((p) => p.startsWith(`${path}.`))) return "its fields below";
  const json = JSON.stringify(value);
  return json.length <= 40 ? `\`${json}\`` : "see values.yaml";
}

const cell = (text) => text.replace(/\|/g, "\\|");

/** The Markdown table of a values.yaml's documented keys. */
export function valuesTable(yamlText) {
  const values = parse(yamlText) ?? {};
  const docs = documentedValues(yamlText);
  const paths = docs.map((d) => d.path);
  return [
    "| value | default | description |",
    "| --- | --- | --- |",
    ...docs.map(
      (d) =>
        `| \`${d.path}\` | ${cell(d.default ?? shownDefault(valueAt(values, d.path), d.path, paths))} | ${cell(d.description)} |`,
    ),
  ].join("\n");
}

/** The README with its values table regenerated between the markers. */
export function withValuesTable(readme, yamlText) {
  const start = readme.indexOf(VALUES_START);
  const end = readme.indexOf(VALUES_END);
  if (start < 0 || end < start) throw new Error(`the chart's README has no values table markers (${VALUES_START})`);
  return `${readme.slice(0, start + VALUES_START.length)}\n${valuesTable(yamlText)}\n${readme.slice(end)}`;
}

function main() {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const { values: flags } = parseArgs({
    options: {
      check: { type: "boolean", default: false },
      chart: { type: "string", default: join(root, "helm/sentiment-worker") },
    },
  });
  const readmePath = join(flags.chart, "README.md");
  const before = readFileSync(readmePath, "utf8");
  const after = withValuesTable(before, readFileSync(join(flags.chart, "values.yaml"), "utf8"));
  const name = `${flags.chart.split("/").at(-1)}/README.md`;
  if (flags.check) {
    if (after !== before) {
      process.stderr.write(`${name}: the values table is stale: run \`npm run docs\`\n`);
      process.exit(1);
    }
    process.stderr.write(`${name}: values table up to date\n`);
    return;
  }
  if (after !== before) writeFileSync(readmePath, after);
  process.stderr.write(`${name}: values table ${after === before ? "up to date" : "regenerated"}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main();
