#!/usr/bin/env node
// Writes src/inference/bert-char-classes.ts: what BERT's normalizer and pre-tokenizer in the
// installed `tokenizers` do with each code point (see src/inference/char-classes.ts). Run after
// `npm run build`, and after upgrading `tokenizers` when the unit test says the table is stale.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "tokenizers";
import { readCharClasses, toRuns } from "../dist/src/inference/char-classes.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const tokenizer = Tokenizer.fromFile(join(root, "test/fixtures/models/tiny/tokenizer.json"));
const runs = toRuns(readCharClasses(tokenizer.getNormalizer(), tokenizer.getPreTokenizer()));
const lines = [];
for (let i = 0; i < runs.length; i += 16) lines.push(`  ${runs.slice(i, i + 16).join(", ")},`);
writeFileSync(
  join(root, "src/inference/bert-char-classes.ts"),
  `// Written by \`node scripts/bert-char-classes.mjs\`; see char-classes.ts. Runs of code points,
// [length, class, …] from U+0000: 0 kept in a word, 1 removed, 2 whitespace, 3 a word of its own.
export const BERT_CHAR_CLASS_RUNS: readonly number[] = [
${lines.join("\n")}
];
`,
);
console.log(`bert-char-classes: ${runs.length / 2} runs`);
