/**
 * The operations kit against a real Prometheus (Debian's) scraping a real worker (the CLI, on the
 * real broker and Redis, with traffic that includes duplicates and dead letters, and a shadow
 * candidate): every rule of the chart's PrometheusRule evaluates healthy, every recording rule and
 * every panel of the Grafana dashboard returns data, and every metric an alert, a recording rule
 * or a panel names exists in what Prometheus scraped or recorded; a name the worker does not
 * export fails.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Message } from "kafkajs";
import { TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import { binaryPath, DASHBOARD_FILE, helmPath, renderRules, skipWithout } from "../helpers/ops-tools.js";
import { metricNames, withAllVariables } from "../helpers/promql.js";
import { freePort } from "../helpers/redis-server.js";
import type { TestServices } from "../helpers/services.js";
import { CLI, workerSetup } from "../helpers/worker-setup.js";

const prometheusBinary = binaryPath("prometheus");
const texts = tinyTexts();

let services: TestServices;
let client: KafkaTestClient;
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), "sw-prometheus-"));

openForFile(
  (opened) => {
    ({ services, client } = opened);
  },
  {
    beforeClose: async () => {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGKILL");
          await once(child, "exit");
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  },
);

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { result: unknown[] };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function spawnLogged(command: string, args: string[], name: string): { child: ChildProcess; log: () => string } {
  let log = "";
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "" } });
  child.stderr?.on("data", (d: Buffer) => {
    log = `${log}${d.toString("utf8")}`.slice(-20_000);
  });
  children.push(child);
  child.on("exit", (code, signal) => {
    if (code !== 0 && signal !== "SIGKILL" && signal !== "SIGTERM") log += `\n${name} exited ${code ?? signal}`;
  });
  return { child, log: () => log };
}

/** Every expression the kit ships: the rules' and the dashboard panels' (variables as "All"). */
function shippedExpressions(): { where: string; expr: string; mustReturnData: boolean }[] {
  const out: { where: string; expr: string; mustReturnData: boolean }[] = [];
  for (const group of renderRules().groups) {
    for (const rule of group.rules) {
      // An alert that does not fire returns nothing; its metrics must exist all the same.
      out.push({ where: `rule ${rule.record ?? rule.alert}`, expr: rule.expr, mustReturnData: !!rule.record });
    }
  }
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as {
    panels: { title: string; targets?: { expr: string }[] }[];
    templating: { list: { name: string; definition?: string }[] };
  };
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      out.push({ where: `panel "${panel.title}"`, expr: withAllVariables(target.expr), mustReturnData: true });
    }
  }
  for (const variable of dashboard.templating.list) {
    const metric = /label_values\((\w+)/.exec(variable.definition ?? "")?.[1];
    if (metric) out.push({ where: `variable ${variable.name}`, expr: metric, mustReturnData: true });
  }
  return out;
}

describe("the chart's rules and dashboard on a real Prometheus scraping a real worker", {
  skip: skipWithout({ helm: helmPath(), prometheus: prometheusBinary }),
}, () => {
  let base = "";

  const query = async (expr: string): Promise<QueryAnswer> => {
    const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as QueryAnswer;
  };
  /** The metric names `expr` reads that Prometheus has no series of. */
  const missingNames = async (expr: string): Promise<string[]> => {
    const missing: string[] = [];
    for (const name of metricNames(expr)) {
      const answer = await query(`count({__name__=${JSON.stringify(name)}})`);
      if ((answer.data?.result ?? []).length === 0) missing.push(name);
    }
    return missing;
  };

  it("evaluates every rule healthy, and every recording rule and panel returns data from the worker's metrics", async () => {
    const workerPort = await freePort();
    const { input, flags } = await workerSetup(client, services, {
      partitions: 2,
      outputPartitions: 1,
      flags: {
        "rollout.shadow.enabled": "true",
        "rollout.shadow.dir": TINY_MODEL_DIR,
        "telemetry.httpPort": String(workerPort),
        "telemetry.logLevel": "info",
      },
    });
    const groupId = flags["kafka.groupId"] as string;
    const worker = spawnLogged(
      process.execPath,
      [CLI, "run", ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v])],
      "the worker",
    );
    await waitFor("the worker's /readyz", async () => (await fetch(`http://127.0.0.1:${workerPort}/readyz`)).ok);

    // Prometheus on a free loopback port, its own data directory, the chart's rules as rendered.
    const promPort = await freePort();
    base = `http://127.0.0.1:${promPort}`;
    writeFileSync(join(dir, "rules.yaml"), renderRules().text);
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global: {scrape_interval: 1s, evaluation_interval: 1s}",
        "rule_files: [rules.yaml]",
        "scrape_configs:",
        "  - job_name: sentiment-worker",
        `    static_configs: [{targets: ["127.0.0.1:${workerPort}"]}]`,
      ].join("\n"),
    );
    const prometheus = spawnLogged(
      prometheusBinary as string,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--log.level=warn",
      ],
      "prometheus",
    );
    await waitFor("Prometheus to scrape the worker", async () => {
      const answer = await query("up");
      return (answer.data?.result as { value: [number, string] }[] | undefined)?.[0]?.value[1] === "1";
    });

    // Traffic in two waves, so the rates between scrapes are not 0: good posts, repeats (dedup
    // hits), bad records (dead letters of three codes).
    const good = (wave: number): Message[] =>
      Array.from({ length: 40 }, (_, i) => ({
        key: `k-${i % 5}`,
        value: JSON.stringify({ id: `w${wave}-${i}`, text: texts[i % texts.length] }),
      }));
    const bad: Message[] = [
      { key: "b1", value: "{not json" },
      { key: "b2", value: JSON.stringify({ id: "e", text: " " }) },
      { key: "b3", value: "[1]" },
    ];
    for (const wave of [1, 2]) {
      await client.produce(input, [...good(wave), ...bad, ...good(wave).slice(0, 5)]);
      await client.waitForGroupAtEnd(groupId, input);
      await sleep(2_500);
    }
    await waitFor("the shadow's comparisons on /metrics", async () =>
      /sw_shadow_agreement_compared_total\{/.test(await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text()),
    );
    // A few more scrapes and rule evaluations after the last wave.
    await sleep(4_000);

    const problems: string[] = [];
    const rules = (await (await fetch(`${base}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const evaluated = rules.data.groups.flatMap((g) => g.rules);
    assert.equal(evaluated.length, renderRules().groups.flatMap((g) => g.rules).length, "Prometheus loaded every rule");
    for (const rule of evaluated) {
      if (rule.health !== "ok") problems.push(`rule ${rule.name}: health ${rule.health} ${rule.lastError ?? ""}`);
    }
    const expressions = shippedExpressions();
    for (const { where, expr, mustReturnData } of expressions) {
      const missing = await missingNames(expr);
      if (missing.length > 0) problems.push(`${where}: no series of ${missing.join(", ")} in ${expr}`);
      const answer = await query(expr);
      if (answer.status !== "success") problems.push(`${where}: ${answer.error} in ${expr}`);
      else if (mustReturnData && (answer.data?.result ?? []).length === 0)
        problems.push(`${where}: no data from ${expr}`);
    }
    assert.deepEqual(
      problems,
      [],
      `${problems.join("\n")}\n--- worker:\n${worker.log()}\n--- prometheus:\n${prometheus.log()}`,
    );
    assert.ok(expressions.length >= 40, `expressions checked: ${expressions.length}`);

    // The check itself can fail: a name the worker does not export, in a rule or a panel's shape.
    assert.deepEqual(await missingNames("sum by (namespace, job) (rate(sw_records_totl[5m]))"), ["sw_records_totl"]);
    assert.deepEqual(
      await missingNames(
        withAllVariables('sw:dead_letters_by_code:rate5m{namespace=~"$namespace"} / sw_no_such_gauge'),
      ),
      ["sw_no_such_gauge"],
    );
  });
});
