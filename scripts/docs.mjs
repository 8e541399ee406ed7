#!/usr/bin/env node
// Regenerates the README's configuration reference from the schema (run after `npm run build`).
import { readFileSync, writeFileSync } from "node:fs";
import { withReference } from "../dist/src/config/reference.js";

const readme = new URL("../README.md", import.meta.url);
const before = readFileSync(readme, "utf8");
const after = withReference(before);
if (after !== before) writeFileSync(readme, after);
process.stderr.write(after === before ? "README.md reference is up to date\n" : "README.md reference regenerated\n");
