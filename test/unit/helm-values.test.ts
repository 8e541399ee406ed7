/** The chart README's values table is generated from values.yaml (`scripts/helm-values.mjs`). */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";

const root = join(import.meta.dirname, "../../..");
const script = join(root, "scripts/helm-values.mjs");
const chart = join(root, "helm/sentiment-worker");

interface Documented {
  path: string;
  description: string;
  default: string | undefined;
}
const generator = (await import(pathToFileURL(script).href)) as {
  documentedValues(yaml: string): Documented[];
  valuesTable(yaml: string): string;
  withValuesTable(readme: string, yaml: string): string;
};

describe("the Helm chart's values table", () => {
  it("is in step with values.yaml", () => {
    const readme = readFileSync(join(chart, "README.md"), "utf8");
    const values = readFileSync(join(chart, "values.yaml"), "utf8");
    assert.ok(
      readme === generator.withValuesTable(readme, values),
      "the chart README's values table is stale: run `npm run docs`",
    );
  });

  it("documents the keys whose comment starts with `--`, nested paths, defaults and overrides", () => {
    const yaml = [
      "# A header, not a key's.",
      "",
      "# -- The image.",
      "image:",
      "  # -- Its repository;",
      "  # continued here.",
      "  repository: sw",
      "  # only a note",
      '  tag: ""',
      "list:",
      "  - a: 1",
      "# -- Resources.",
      "# @default -- 2 CPU",
      "resources:",
      '  cpu: "2"',
      "# -- Small.",
      "small: {a: 1}",
    ].join("\n");
    assert.deepEqual(generator.documentedValues(yaml), [
      { path: "image", description: "The image.", default: undefined },
      { path: "image.repository", description: "Its repository; continued here.", default: undefined },
      { path: "resources", description: "Resources.", default: "2 CPU" },
      { path: "small", description: "Small.", default: undefined },
    ]);
    assert.deepEqual(generator.valuesTable(yaml).split("\n").slice(2), [
      "| `image` | its fields below | The image. |",
      "| `image.repository` | `sw` | Its repository; continued here. |",
      "| `resources` | 2 CPU | Resources. |",
      '| `small` | `{"a":1}` | Small. |',
    ]);
  });

  it("fails `--check` when a default changed and the table was not regenerated", () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-helm-values-"));
    try {
      cpSync(join(chart, "README.md"), join(dir, "README.md"));
      const values = readFileSync(join(chart, "values.yaml"), "utf8");
      const check = () => spawnSync(process.execPath, [script, "--check", "--chart", dir], { encoding: "utf8" });
      writeFileSync(join(dir, "values.yaml"), values);
      assert.equal(check().status, 0);
      writeFileSync(join(dir, "values.yaml"), values.replace(/^replicaCount: 2$/m, "replicaCount: 3"));
      const stale = check();
      assert.equal(stale.status, 1);
      assert.match(stale.stderr, /stale: run `npm run docs`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
