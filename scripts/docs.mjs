#!/usr/bin/env node
// Regenerates what is generated from the code (run after `npm run build`): docs/configuration.md's
// configuration reference, the JSON Schema of the output event and the Helm chart's values table
// (from values.yaml, `helm-values.mjs`). Unit tests fail when any of them is stale.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { withReference } from "../dist/src/config/reference.js";
import { SENTIMENT_EVENT_SCHEMA, sentimentEventJsonSchema } from "../dist/src/events/sentiment-event.js";
import { withValuesTable } from "./helm-values.mjs";

function update(url, make) {
  let before = "";
  try {
    before = readFileSync(url, "utf8");
  } catch {}
  const after = make(before);
  if (after !== before) writeFileSync(url, after);
  process.stderr.write(
    `${url.pathname.split("/").slice(-2).join("/")}: ${after === before ? "up to date" : "regenerated"}\n`,
  );
}

update(new URL("../docs/configuration.md", import.meta.url), withReference);
mkdirSync(new URL("../schemas/", import.meta.url), { recursive: true });
update(
  new URL(`../schemas/${SENTIMENT_EVENT_SCHEMA}.json`, import.meta.url),
  () => `${JSON.stringify(sentimentEventJsonSchema(), null, 2)}\n`,
);
update(new URL("../helm/sentiment-worker/README.md", import.meta.url), (readme) =>
  withValuesTable(readme, readFileSync(new URL("../helm/sentiment-worker/values.yaml", import.meta.url), "utf8")),
);
