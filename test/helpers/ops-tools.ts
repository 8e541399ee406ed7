/**
 * The real tools of the operations kit's tests: helm (built by scripts/check-deploy.mjs into the
 * tools cache), promtool and prometheus (Debian's `prometheus` package, which .ci/run installs).
 * Outside CI a missing tool skips the test with a message saying how to get it; in CI (CI set) the
 * test runs and fails, so a missing install step cannot pass as a skip.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { REPO_ROOT } from "./fixtures.js";

export const CHART_DIR = join(REPO_ROOT, "helm/sentiment-worker");
export const RULES_TEST_FILE = join(REPO_ROOT, "test/prometheus/rules.test.yaml");
export const DASHBOARD_FILE = join(CHART_DIR, "files/grafana-dashboard.json");

const toolsBin = join(
  process.env.SENTIMENT_WORKER_TOOLS_DIR || join(homedir(), ".cache", "sentiment-worker-tools"),
  "bin",
);

/** helm from the tools cache, if check-deploy has built it. */
export function helmPath(): string | undefined {
  const name = existsSync(toolsBin) ? readdirSync(toolsBin).find((f) => f.startsWith("helm-")) : undefined;
  return name ? join(toolsBin, name) : undefined;
}

/** A binary on PATH or in Debian's /usr/bin. */
export function binaryPath(name: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  return existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : undefined;
}

/**
 * The `skip` option of a suite that needs these tools: false when all are there or in CI (where a
 * missing one must fail), else the message saying what to install.
 */
export function skipWithout(tools: Record<string, string | undefined>): false | string {
  const missing = Object.entries(tools)
    .filter(([, path]) => path === undefined)
    .map(([name]) => name);
  if (missing.length === 0 || process.env.CI) return false;
  const how: Record<string, string> = {
    helm: "node scripts/check-deploy.mjs (builds it)",
    promtool: "apt-get install prometheus",
    prometheus: "apt-get install prometheus",
  };
  return `needs ${missing.map((m) => `${m} (${how[m] ?? m})`).join(", ")}`;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** `helm template` of the chart with `--set` values; throws with helm's stderr on failure. */
export function renderChart(set: string[]): Manifest[] {
  const helm = helmPath();
  if (!helm) throw new Error("no helm in the tools cache: run node scripts/check-deploy.mjs");
  const result = spawnSync(helm, ["template", "sw", CHART_DIR, ...set.flatMap((s) => ["--set", s])], {
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
}

export interface RuleGroup {
  name: string;
  rules: Array<{
    record?: string;
    alert?: string;
    expr: string;
    for?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  }>;
}

/** The chart's rules as a Prometheus rule file: the PrometheusRule's spec, rendered with `set`. */
export function renderRules(set: string[] = []): { groups: RuleGroup[]; text: string } {
  const rule = renderChart(["prometheusRule.enabled=true", ...set]).find((d) => d.kind === "PrometheusRule");
  if (!rule?.spec) throw new Error("the chart rendered no PrometheusRule with prometheusRule.enabled=true");
  return { groups: rule.spec.groups as RuleGroup[], text: stringify(rule.spec) };
}
