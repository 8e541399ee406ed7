/**
 * The chart's alert and recording rules (helm/sentiment-worker/files/prometheus-rules.yaml) with
 * the real tools: rendered by helm, checked by `promtool check rules`, and every alert tested
 * firing and not firing from synthetic series by `promtool test rules`
 * (test/prometheus/rules.test.yaml). The live counterpart, every expression against a real
 * worker's metrics, is test/integration/prometheus.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse } from "yaml";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { githubSlug } from "../helpers/markdown.js";
import {
  binaryPath,
  DASHBOARD_FILE,
  helmPath,
  RULES_TEST_FILE,
  type RuleGroup,
  renderChart,
  renderRules,
  skipWithout,
} from "../helpers/ops-tools.js";

const promtool = binaryPath("promtool");
const dir = mkdtempSync(join(tmpdir(), "sw-promtool-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the rules rendered with `set` beside a copy of the unit tests; promtool's exit status and output. */
function promtoolTest(set: string[] = []): { status: number | null; output: string } {
  writeFileSync(join(dir, "rules.yaml"), renderRules(set).text);
  copyFileSync(RULES_TEST_FILE, join(dir, "rules.test.yaml"));
  const result = spawnSync(promtool as string, ["test", "rules", "rules.test.yaml"], { cwd: dir, encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const alertsOf = (groups: RuleGroup[]) => groups.flatMap((g) => g.rules).filter((r) => r.alert);

describe("the chart's Prometheus rules", { skip: skipWithout({ helm: helmPath(), promtool }) }, () => {
  it("pass `promtool check rules`", () => {
    writeFileSync(join(dir, "check.yaml"), renderRules().text);
    const result = spawnSync(promtool as string, ["check", "rules", join(dir, "check.yaml")], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS: \d+ rules found/);
  });

  it("pass `promtool test rules`, which tests every alert firing and not firing", () => {
    const { status, output } = promtoolTest();
    assert.equal(status, 0, output);
    // Every alert of the rendering has a test that expects it and one that expects nothing.
    const tests = parse(readFileSync(RULES_TEST_FILE, "utf8")) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const alerts = alertsOf(renderRules().groups).map((r) => r.alert as string);
    assert.ok(alerts.length >= 8, `alerts: ${alerts.join(", ")}`);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert}: no test where it fires`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert}: no test where it does not fire`,
      );
    }
  });

  it("fail the unit tests when a threshold in values changes (the tests read the rendered values)", () => {
    const { status, output } = promtoolTest(["prometheusRule.alerts.deadLetterRatio.ratio=0.2"]);
    assert.notEqual(status, 0);
    assert.match(output, /SentimentWorkerDeadLettersHigh/);
    assert.doesNotMatch(output, /SentimentWorkerNotReady/, "only the changed alert's tests fail");
  });

  it("give every alert a summary, a description and a runbook_url to its section of docs/operations.md", () => {
    const docs = readFileSync(join(REPO_ROOT, "docs/operations.md"), "utf8");
    const anchors = new Set([...docs.matchAll(/^#{2,4} (.+)$/gm)].map((m) => githubSlug(m[1] as string)));
    for (const rule of alertsOf(renderRules().groups)) {
      const a = rule.annotations ?? {};
      assert.ok(a.summary && a.description, `${rule.alert}: summary and description`);
      const anchor = /^docs\/operations\.md#([a-z0-9-]+)$/.exec(a.runbook_url ?? "")?.[1];
      assert.ok(anchor, `${rule.alert}: runbook_url ${a.runbook_url}`);
      assert.ok(anchors.has(anchor), `${rule.alert}: docs/operations.md has no section #${anchor}`);
      assert.ok(rule.labels?.severity, `${rule.alert}: a severity label`);
    }
  });

  it("take their labels and runbook address from values, and leave out an alert set to null", () => {
    const { groups } = renderRules([
      "prometheusRule.alertLabels.team=feeds",
      "prometheusRule.runbookUrl=https://docs.example/ops.md",
      "prometheusRule.alerts.shadowAgreementLow=null",
    ]);
    const alerts = alertsOf(groups);
    assert.ok(alerts.every((r) => r.labels?.team === "feeds"));
    assert.ok(alerts.every((r) => r.annotations?.runbook_url?.startsWith("https://docs.example/ops.md#")));
    assert.equal(
      alerts.find((r) => r.alert === "SentimentWorkerShadowAgreementLow"),
      undefined,
    );
    assert.equal(alerts.length, alertsOf(renderRules().groups).length - 1);
  });
});

describe("the chart's monitoring objects", { skip: skipWithout({ helm: helmPath() }) }, () => {
  it("are off by default; one value each turns on the PrometheusRule and the dashboard ConfigMap", () => {
    const kinds = (docs: ReturnType<typeof renderChart>) => docs.map((d) => `${d.kind}/${d.metadata.name}`);
    const plain = kinds(renderChart([]));
    assert.ok(!plain.some((k) => k.startsWith("PrometheusRule/") || k.endsWith("-dashboard")), plain.join(" "));
    const docs = renderChart(["prometheusRule.enabled=true", "grafanaDashboard.enabled=true"]);
    assert.ok(docs.some((d) => d.kind === "PrometheusRule"));
    const dashboard = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name.endsWith("-dashboard"));
    assert.equal(dashboard?.metadata.labels?.grafana_dashboard, "1", "the sidecar's label");
    // The file itself, byte for byte: the one docs/operations.md points teams without the sidecar to.
    assert.equal(dashboard?.data?.["sentiment-worker.json"], readFileSync(DASHBOARD_FILE, "utf8").trimEnd());
    const parsed = JSON.parse(dashboard?.data?.["sentiment-worker.json"] ?? "{}") as { panels: unknown[] };
    assert.ok(parsed.panels.length > 10);
  });
});
