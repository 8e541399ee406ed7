/**
 * The chart README's values table is generated from values.yaml (`scripts/helm-values.mjs`); and
 * what some values render to (the NetworkPolicy, where HF_TOKEN goes), with the helm that
 * `scripts/check-deploy.mjs` builds (skipped until it has: CI runs it before the tests).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { fieldByPath } from "../../src/config/fields.js";

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

/**
 * The worker's settings the chart sets on purpose to something else than the worker's default,
 * and why; every other setting in values.yaml's `config` states the schema's default.
 */
const CLUSTER_CHOICES: Record<string, string> = {
  "kafka.brokers": "a broker Service in the cluster, not an empty list",
  "kafka.inputTopics": "an example topic to replace",
  "dedup.redisUrl": "a Redis Service in the cluster, not loopback",
  "runtime.intraOpThreads": "the pod's CPU request, not every core of the node",
};

/** The leaves of a YAML mapping as dotted paths (lists are leaves). */
function leaves(node: unknown, prefix = ""): Array<[string, unknown]> {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return [[prefix, node]];
  return Object.entries(node).flatMap(([key, value]) => leaves(value, prefix ? `${prefix}.${key}` : key));
}

describe("the chart's defaults of the worker's settings", () => {
  it("are the schema's in values.yaml's config, but for the few a cluster sets on purpose", () => {
    const config = (parse(readFileSync(join(chart, "values.yaml"), "utf8")) as { config: unknown }).config;
    const problems: string[] = [];
    for (const [path, value] of leaves(config)) {
      const field = fieldByPath(path);
      if (!field) problems.push(`config.${path}: no such setting`);
      else if (path in CLUSTER_CHOICES) {
        if (JSON.stringify(value) === JSON.stringify(field.default)) problems.push(`config.${path}: no longer differs`);
      } else if (JSON.stringify(value) !== JSON.stringify(field.default)) {
        problems.push(
          `config.${path}: ${JSON.stringify(value)}, the schema's default is ${JSON.stringify(field.default)}`,
        );
      }
    }
    assert.deepEqual(problems, []);
  });

  it("are the schema's where a template falls back on one (a key removed from values.yaml)", () => {
    // `$kafka.groupId | default "sentiment-worker"`, `get $sasl "mechanism" | default "none"`...
    const prefixes: Record<string, string> = {
      kafka: "kafka",
      sasl: "kafka.sasl",
      telemetry: "telemetry",
      rollout: "rollout",
    };
    const fallback = /(?:\$(\w+)\.(\w+)|get \$(\w+) "(\w+)")\s*\|\s*default\s+("[^"]*"|\d+)/g;
    const problems: string[] = [];
    let found = 0;
    const templates = join(chart, "templates");
    for (const file of readdirSync(templates)) {
      const text = readFileSync(join(templates, file), "utf8");
      for (const m of text.matchAll(fallback)) {
        const variable = (m[1] ?? m[3]) as string;
        const key = (m[2] ?? m[4]) as string;
        const prefix = prefixes[variable];
        if (prefix === undefined) continue; // not a setting of the worker
        found++;
        const field = fieldByPath(`${prefix}.${key}`);
        const value = JSON.parse(m[5] as string) as unknown;
        if (!field) problems.push(`${file}: ${m[0]}: no such setting`);
        else if (value !== field.default)
          problems.push(`${file}: ${m[0]}, the schema's default is ${JSON.stringify(field.default)}`);
      }
    }
    assert.ok(found >= 3, `template fallbacks found: ${found}`);
    assert.deepEqual(problems, []);
  });
});

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

const toolsBin = join(
  process.env.SENTIMENT_WORKER_TOOLS_DIR || join(homedir(), ".cache", "sentiment-worker-tools"),
  "bin",
);
const helmName = existsSync(toolsBin) ? readdirSync(toolsBin).find((f) => f.startsWith("helm-")) : undefined;

interface Manifest {
  kind: string;
  spec: Record<string, unknown>;
}
interface Container {
  name: string;
  args: string[];
  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
}
interface PolicyRule {
  ports: { port: number; protocol: string }[];
  from?: unknown[];
}

function render(...set: string[]): Manifest[] {
  const helm = join(toolsBin, helmName as string);
  const result = spawnSync(helm, ["template", "sw", chart, ...set.flatMap((v) => ["--set", v])], {
    encoding: "utf8",
  });
  assert.equal(result.status, 0, result.stderr);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
}

const pod = (docs: Manifest[]) => {
  const deployment = docs.find((d) => d.kind === "Deployment") as unknown as {
    spec: { template: { metadata: { labels: Record<string, string> }; spec: Record<string, Container[]> } };
  };
  return deployment.spec.template;
};
const hfTokenOf = (c: Container | undefined) => c?.env?.find((e) => e.name === "HF_TOKEN");

describe("the Helm chart's rendering", {
  skip: helmName ? false : "no helm yet: run node scripts/check-deploy.mjs",
}, () => {
  it("has no NetworkPolicy unless asked for", () => {
    assert.equal(
      render().find((d) => d.kind === "NetworkPolicy"),
      undefined,
    );
  });

  it("opens only the metrics port to the given peers, and the admin port only when it listens beyond loopback", () => {
    const monitoring = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } };
    const operators = { podSelector: { matchLabels: { role: "operator" } } };
    const base = [
      "networkPolicy.enabled=true",
      "networkPolicy.metrics.from[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
      "networkPolicy.admin.from[0].podSelector.matchLabels.role=operator",
    ];
    const policyOf = (docs: Manifest[]) => {
      const policy = docs.find((d) => d.kind === "NetworkPolicy");
      assert.ok(policy, "a NetworkPolicy");
      const labels = pod(docs).metadata.labels;
      const selector = (policy.spec.podSelector as { matchLabels: Record<string, string> }).matchLabels;
      assert.ok(
        Object.entries(selector).every(([k, v]) => labels[k] === v),
        "it selects the worker's pods",
      );
      assert.deepEqual(policy.spec.policyTypes, ["Ingress"]);
      return policy.spec.ingress as PolicyRule[];
    };

    assert.deepEqual(policyOf(render(...base)), [{ ports: [{ port: 9464, protocol: "TCP" }], from: [monitoring] }]);
    // On loopback (the default adminHost) the admin port is not reachable from outside the pod anyway.
    assert.equal(policyOf(render(...base, "config.rollout.adminPort=9465")).length, 1);
    const exposed = policyOf(
      render(
        ...base,
        "config.rollout.adminPort=9465",
        "config.rollout.adminHost=0.0.0.0",
        "secrets.adminToken.name=admin",
        "config.telemetry.httpPort=9100",
      ),
    );
    assert.deepEqual(exposed, [
      { ports: [{ port: 9100, protocol: "TCP" }], from: [monitoring] },
      { ports: [{ port: 9465, protocol: "TCP" }], from: [operators] },
    ]);
    // No peers given: the ports are open to any source (Kubernetes' meaning of a rule without from).
    const open = policyOf(render("networkPolicy.enabled=true"));
    assert.deepEqual(open, [{ ports: [{ port: 9464, protocol: "TCP" }] }]);
  });

  it("gives HF_TOKEN to the init container that fetches the model, not to the worker", () => {
    const template = pod(render("secrets.huggingFace.name=hf", "secrets.huggingFace.tokenKey=tok"));
    const fetcher = template.spec.initContainers?.find((c) => c.args[0] === "model");
    const worker = template.spec.containers?.find((c) => c.args[0] === "run");
    assert.deepEqual(hfTokenOf(fetcher)?.valueFrom?.secretKeyRef, { name: "hf", key: "tok" });
    assert.equal(hfTokenOf(worker), undefined, "the worker, which starts offline, has no HF_TOKEN");
    // Without the init container the worker fetches the model itself, so it needs the token.
    const alone = pod(render("secrets.huggingFace.name=hf", "model.cache.fetchOnInit=false"));
    assert.equal(alone.spec.initContainers, undefined);
    assert.ok(hfTokenOf(alone.spec.containers?.find((c) => c.args[0] === "run")));
    // No Secret named: no token anywhere.
    const none = pod(render());
    assert.equal(hfTokenOf(none.spec.initContainers?.[0]), undefined);
  });

  it("renders the replay Job only when asked: `replay` with its arguments, the worker's volumes, secrets and init container, its own pods", () => {
    assert.equal(
      render().find((d) => d.kind === "Job"),
      undefined,
    );
    const args = ["--topic", "posts", "--from", "earliest", "--to", "now", "--rate", "500"];
    const set = [
      "replayJob.enabled=true",
      `replayJob.args={${args.join(",")}}`,
      "replayJob.parallelism=4",
      "replayJob.completions=4",
      "replayJob.backoffLimit=3",
      "secrets.redis.name=redis",
      "secrets.kafkaSasl.name=sasl",
    ];
    const docs = render(...set);
    const job = docs.find((d) => d.kind === "Job") as unknown as {
      metadata: { name: string };
      spec: {
        parallelism: number;
        completions?: number;
        backoffLimit: number;
        podFailurePolicy: { rules: { action: string; onExitCodes?: { values: number[] } }[] };
        template: { metadata: { labels: Record<string, string> }; spec: Record<string, Container[]> };
      };
    };
    assert.ok(job, "a Job");
    assert.deepEqual([job.spec.parallelism, job.spec.completions, job.spec.backoffLimit], [4, 4, 3]);
    const worker = pod(docs);
    const replay = job.spec.template.spec.containers?.[0];
    assert.deepEqual(replay?.args, ["replay", ...args]);
    const envNames = (c: Container | undefined) => c?.env?.map((e) => e.name);
    assert.deepEqual(envNames(replay), envNames(worker.spec.containers?.[0]), "the worker's environment and secrets");
    assert.ok(envNames(replay)?.includes("SW_DEDUP_REDIS_URL") && envNames(replay)?.includes("SW_KAFKA_SASL_PASSWORD"));
    assert.deepEqual(job.spec.template.spec.volumes, worker.spec.volumes, "the worker's model cache and files");
    assert.deepEqual(job.spec.template.spec.initContainers, worker.spec.initContainers, "the model fetched first");
    assert.notEqual(
      job.spec.template.metadata.labels["app.kubernetes.io/name"],
      worker.metadata.labels["app.kubernetes.io/name"],
      "the worker's selectors do not match the replay's pods",
    );
    assert.ok(
      job.spec.podFailurePolicy.rules.some((r) => r.action === "FailJob" && r.onExitCodes?.values.includes(78)),
    );
    // Without completions: a work-queue Job (done when a pod succeeded, which needs the whole replay done).
    const queue = render("replayJob.enabled=true").find((d) => d.kind === "Job") as unknown as typeof job;
    assert.equal(queue.spec.completions, undefined);
    // Other arguments are another replay: another Job, since a Job's pod template cannot change.
    const other = render("replayJob.enabled=true", "replayJob.args={--topic,posts,--from,earliest,--to,1000}");
    assert.notEqual((other.find((d) => d.kind === "Job") as unknown as typeof job).metadata.name, job.metadata.name);
    // A replay without its range is refused when rendering, not in a crash-looping pod.
    const helm = join(toolsBin, helmName as string);
    const refused = spawnSync(
      helm,
      ["template", "sw", chart, "--set", "replayJob.enabled=true", "--set", "replayJob.args={--topic,posts}"],
      {
        encoding: "utf8",
      },
    );
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /replayJob.args needs --from/);
  });
});
