#!/usr/bin/env node
// Builds the project's container images with podman and no registry, and runs podman's
// Docker-compatible service for Testcontainers.
//
//   node scripts/containers.mjs build [debian|node|worker|kafka|redis ...]   (default: all, in order)
//   node scripts/containers.mjs service up|down|status   podman's API socket under .cache/containers;
//                                                         `up` prints DOCKER_HOST=... and the other
//                                                         Testcontainers settings (stdout only)
//   node scripts/containers.mjs images                    each image's reference and size
//   node scripts/containers.mjs env                       the settings `service up` prints
//
// Images (none comes from a registry; see docs/development.md#containers):
//   debian  docker.io/library/debian:bookworm-slim   debootstrap minbase from the apt mirror, slimmed
//   node    docker.io/library/node:<Dockerfile's>    Node and npm from the npm registry on `debian`
//   worker  docker.io/library/sentiment-worker:<v>   the unchanged Dockerfile (VARIANT=cpu)
//   kafka   docker.io/library/sentiment-worker-test-kafka:<v>   the Maven jars on Debian's Java 17
//   redis   docker.io/library/sentiment-worker-test-redis:bookworm   Debian's redis-server
// Each image carries a label with the hash of its inputs (files, versions, base image id); a build
// whose image already has that hash is skipped, so a warm `build` takes about a second.
// The stand-ins carry the public names so the Dockerfile's FROM lines resolve unchanged; a short
// name (`sentiment-worker:0.1.0`) means docker.io/library/... to Docker and to podman's API alike.
//
// podman runs with a containers.conf of its own (CONTAINERS_CONF, written under .cache/containers):
// runc instead of crun and container limits within this machine's own (docs/development.md).
// Plain Node with no npm packages. Missing podman, runc or debootstrap are installed with apt-get
// when running as root.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { dirname, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cacheDir = join(root, ".cache/containers");
const confFile = join(cacheDir, "containers.conf");
const socketPath = join(cacheDir, "podman.sock");
const serviceState = join(cacheDir, "service.json");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
// The Dockerfile names the base (node:<major>-bookworm-slim, a registry digest after it once
// pinned); .node-version is the exact Node the stand-in of that name carries, the one the project
// runs everywhere (scripts/node-runtime.mjs). A local image cannot carry the registry's digest, so
// the stand-in has the name without it and the worker is built with that name.
const DOCKERFILE_NODE_IMAGE = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)[1];
const NODE_IMAGE = DOCKERFILE_NODE_IMAGE.replace(/@sha256:[0-9a-f]{64}$/, "");
const NODE_VERSION = readFileSync(join(root, ".node-version"), "utf8").trim();
const NODE_IMAGE_MAJOR = /^node:(\d+)(?:\.\d+\.\d+)?-bookworm-slim$/.exec(NODE_IMAGE)?.[1];
// The npm that this Node release bundles (its CHANGELOG's last "upgrade npm to"; nodejs.org's
// dist/index.json); bump it with .node-version.
const NPM_VERSION = { "24.22.3": "11.19.1" }[NODE_VERSION];
const KAFKA_VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(
  readFileSync(join(root, "scripts/kafka/pom.xml"), "utf8"),
)[1];
const SUITE = "bookworm";
const HASH_LABEL = "io.sentiment-worker.inputs";
const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

const IMAGES = {
  debian: `docker.io/library/debian:${SUITE}-slim`,
  node: `docker.io/library/${NODE_IMAGE}`,
  worker: `docker.io/library/sentiment-worker:${pkg.version}`,
  kafka: `docker.io/library/sentiment-worker-test-kafka:${KAFKA_VERSION}`,
  redis: `docker.io/library/sentiment-worker-test-redis:${SUITE}`,
};

const log = (msg) => process.stderr.write(`containers: ${msg}\n`);

function which(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).stdout.trim() || undefined;
}

/** podman, runc and debootstrap, installed with apt-get when missing and root. */
function ensureTools(tools = ["podman", "runc", "debootstrap"]) {
  const missing = tools.filter((t) => !which(t) && !existsSync(`/usr/sbin/${t}`));
  if (missing.length === 0) return;
  const install = `apt-get update && apt-get install -y ${missing.join(" ")}`;
  if (process.getuid?.() !== 0 || !which("apt-get")) {
    throw new Error(`${missing.join(", ")} not found: install with \`sudo sh -c '${install}'\`, then run this again`);
  }
  log(`installing ${missing.join(" ")} (apt-get)`);
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", ...missing],
  ]) {
    const r = spawnSync("apt-get", args, {
      stdio: ["ignore", 2, 2],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.status !== 0) throw new Error(`apt-get ${args[0]} failed: run \`${install}\` yourself`);
  }
}

/** A hard limit of this shell (`ulimit -H<flag>`), capped; "unlimited" gives the cap. */
function hardLimit(flag, cap) {
  const text = spawnSync("sh", ["-c", `ulimit -H${flag}`], { encoding: "utf8" }).stdout.trim();
  return text === "unlimited" || !Number(text) ? cap : Math.min(Number(text), cap);
}

/**
 * Podman's defaults ask for limits (nofile 1048576, nproc 32768) that a container runtime may not
 * raise past the caller's own hard limits, and crun fails on hybrid cgroups here; runc does not.
 */
function writeConf() {
  mkdirSync(cacheDir, { recursive: true });
  const nofile = hardLimit("n", 1_048_576);
  const nproc = hardLimit("u", 32_768);
  const text = [
    "# Written by scripts/containers.mjs; used through CONTAINERS_CONF, nothing under /etc changes.",
    "[containers]",
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    "[engine]",
    'runtime = "runc"',
    "",
  ].join("\n");
  if (!existsSync(confFile) || readFileSync(confFile, "utf8") !== text) writeFileSync(confFile, text);
  return confFile;
}

function podmanEnv() {
  return { ...process.env, CONTAINERS_CONF: writeConf() };
}

function podman(args, { capture = false, input } = {}) {
  const r = spawnSync("podman", args, {
    env: podmanEnv(),
    encoding: "utf8",
    input,
    maxBuffer: 64 << 20,
    stdio: [input === undefined ? "ignore" : "pipe", capture ? "pipe" : 2, capture ? "pipe" : 2],
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`podman ${args.slice(0, 2).join(" ")} failed (exit ${r.status})${capture ? `:\n${r.stderr}` : ""}`);
  }
  return capture ? r.stdout : "";
}

/** The image's input-hash label, or undefined when it does not exist. */
function imageHash(ref) {
  const r = spawnSync("podman", ["image", "inspect", "--format", `{{index .Labels "${HASH_LABEL}"}}`, ref], {
    env: podmanEnv(),
    encoding: "utf8",
  });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function imageId(ref) {
  return podman(["image", "inspect", "--format", "{{.Id}}", ref], { capture: true }).trim();
}

/** sha256 over strings and the files (recursively, sorted, by relative path and content). */
function hashInputs(strings, paths = []) {
  const h = createHash("sha256");
  for (const s of strings) h.update(`${s}\0`);
  const walk = (p) => {
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e));
    } else {
      h.update(`${relative(root, p)}\0`);
      h.update(readFileSync(p));
    }
  };
  for (const p of paths) walk(join(root, p));
  return h.digest("hex").slice(0, 32);
}

/** The Debian mirror apt uses on this machine (deb822 or one-line sources). */
function debianMirror() {
  const files = ["/etc/apt/sources.list"];
  if (existsSync("/etc/apt/sources.list.d")) {
    for (const f of readdirSync("/etc/apt/sources.list.d")) files.push(join("/etc/apt/sources.list.d", f));
  }
  for (const f of files.filter(existsSync)) {
    const text = readFileSync(f, "utf8");
    const m = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/m.exec(text);
    if (m) return m[1];
  }
  return "http://deb.debian.org/debian";
}

function timed(name, fn) {
  const t0 = Date.now();
  fn();
  log(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Runs `build` unless an image with the same input hash exists. */
function cached(name, hash, build) {
  const ref = IMAGES[name];
  if (imageHash(ref) === hash) {
    log(`${name}: ${ref} is up to date`);
    return;
  }
  timed(`${name}: built ${ref}`, build);
}

// A build of ours has a mounted CA bundle and npmrc, since a TLS-intercepting proxy's own
// certificate authority must be trusted by npm inside the build; mounted, never copied into a layer.
function buildMounts() {
  if (!existsSync(CA_BUNDLE)) return [];
  const npmrc = join(cacheDir, "build-npmrc");
  writeFileSync(npmrc, `cafile=${CA_BUNDLE}\n`);
  // /usr/local/etc/npmrc is npm's global config for a Node installed under /usr/local.
  return ["-v", `${CA_BUNDLE}:${CA_BUNDLE}:ro`, "-v", `${npmrc}:/usr/local/etc/npmrc:ro`];
}

function podmanBuild(ref, hash, context, extra = [], { npm = false } = {}) {
  podman([
    "build",
    "--format",
    "docker", // keeps HEALTHCHECK, which the OCI image format has no field for
    "--label",
    `${HASH_LABEL}=${hash}`,
    // Only where npm runs: mounted over the bundle, it would break a build that installs ca-certificates.
    ...(npm ? buildMounts() : []),
    ...extra,
    "-t",
    ref,
    context,
  ]);
}

// ---- images ---------------------------------------------------------------------------------------

function buildDebian() {
  const mirror = debianMirror();
  // The steps below are part of the hash: changing them rebuilds.
  const hash = hashInputs([SUITE, mirror, buildDebian.toString()]);
  cached("debian", hash, () => {
    ensureTools(["debootstrap"]);
    const rootfs = join(cacheDir, "rootfs-debian");
    rmSync(rootfs, { recursive: true, force: true });
    const r = spawnSync("debootstrap", ["--variant=minbase", SUITE, rootfs, mirror], { stdio: ["ignore", 2, 2] });
    if (r.status !== 0) throw new Error(`debootstrap failed (exit ${r.status}); its log: ${rootfs}/debootstrap`);
    // What Debian's own slim images leave out: documentation, manuals, locales, apt's lists.
    for (const p of [
      "usr/share/doc",
      "usr/share/man",
      "usr/share/info",
      "usr/share/locale",
      "var/lib/apt/lists",
      "var/cache/apt",
    ]) {
      rmSync(join(rootfs, p), { recursive: true, force: true });
      mkdirSync(join(rootfs, p), { recursive: true });
    }
    mkdirSync(join(rootfs, "var/lib/apt/lists/partial"), { recursive: true });
    mkdirSync(join(rootfs, "var/cache/apt/archives/partial"), { recursive: true });
    // …and keeps them out of later apt-get installs too (as the slim images' dpkg.cfg.d/docker does).
    writeFileSync(
      join(rootfs, "etc/dpkg/dpkg.cfg.d/slim"),
      [
        "path-exclude /usr/share/doc/*",
        "path-include /usr/share/doc/*/copyright",
        "path-exclude /usr/share/man/*",
        "path-exclude /usr/share/info/*",
        "path-exclude /usr/share/locale/*",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(rootfs, "etc/apt/apt.conf.d/docker-clean"),
      'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Install-Recommends "false";\n',
    );
    writeFileSync(
      join(rootfs, "etc/apt/sources.list"),
      `deb ${mirror} ${SUITE} main\ndeb ${mirror} ${SUITE}-updates main\n`,
    );
    // A pipeline, so the root filesystem streams into the image without a tarball on disk.
    const changes = [
      'CMD ["bash"]',
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      `LABEL ${HASH_LABEL}=${hash}`,
    ];
    const imp = spawnSync(
      "bash",
      [
        "-c",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template
        'set -o pipefail; tar -C "$0" --numeric-owner -cf - . | podman import "${@:2}" - "$1" >/dev/null',
        rootfs,
        IMAGES.debian,
        ...changes.flatMap((c) => ["--change", c]),
      ],
      { env: podmanEnv(), stdio: ["ignore", 2, 2] },
    );
    if (imp.status !== 0) throw new Error(`podman import of the Debian root filesystem failed (exit ${imp.status})`);
    rmSync(rootfs, { recursive: true, force: true });
  });
}

/** `npm pack` a registry package into `dir` and unpack it there (as `dir/package`). */
function npmUnpack(spec, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("npm", ["pack", spec, "--pack-destination", dir, "--silent"], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`npm pack ${spec} failed:\n${r.stderr}`);
  const tgz = join(dir, r.stdout.trim().split("\n").pop());
  const x = spawnSync("tar", ["-xzf", tgz, "-C", dir], { stdio: ["ignore", 2, 2] });
  if (x.status !== 0) throw new Error(`unpacking ${tgz} failed`);
  rmSync(tgz);
  return join(dir, "package");
}

function buildNode() {
  if (NODE_IMAGE_MAJOR !== NODE_VERSION.split(".")[0]) {
    throw new Error(
      `the Dockerfile's ${NODE_IMAGE} is not Node ${NODE_VERSION} (.node-version): change one to match the other`,
    );
  }
  if (!NPM_VERSION) {
    throw new Error(
      `no npm version known for Node ${NODE_VERSION}: add it to NPM_VERSION in ${relative(root, fileURLToPath(import.meta.url))}`,
    );
  }
  const arch = { x64: "x64", arm64: "arm64" }[process.arch];
  const hash = hashInputs([NODE_VERSION, NPM_VERSION, arch, imageId(IMAGES.debian)], ["containers/node"]);
  cached("node", hash, () => {
    const ctx = join(cacheDir, "ctx-node");
    rmSync(ctx, { recursive: true, force: true });
    cpSync(join(root, "containers/node"), ctx, { recursive: true });
    const nodePkg = npmUnpack(`node-linux-${arch}@${NODE_VERSION}`, join(cacheDir, "pack-node"));
    copyFileSync(join(nodePkg, "bin/node"), join(ctx, "node"));
    const npmPkg = npmUnpack(`npm@${NPM_VERSION}`, join(cacheDir, "pack-npm"));
    cpSync(npmPkg, join(ctx, "npm"), { recursive: true });
    podmanBuild(IMAGES.node, hash, ctx, [
      "--build-arg",
      `BASE_IMAGE=${IMAGES.debian}`,
      "--build-arg",
      `NODE_VERSION=${NODE_VERSION}`,
    ]);
    for (const d of [ctx, join(cacheDir, "pack-node"), join(cacheDir, "pack-npm")])
      rmSync(d, { recursive: true, force: true });
  });
}

/** The files the Dockerfile's context holds (its .dockerignore is an allowlist). */
function workerContext() {
  return readFileSync(join(root, ".dockerignore"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("!"))
    .map((l) => l.slice(1).replace(/\/$/, ""));
}

function buildWorker() {
  const hash = hashInputs(
    ["cpu", imageId(IMAGES.debian), imageId(IMAGES.node)],
    ["Dockerfile", ".dockerignore", ...workerContext()],
  );
  cached("worker", hash, () => {
    // buildah (podman 4.3) resolves `FROM runtime-${VARIANT}` only with the argument given explicitly.
    // The stand-in's name, without the registry digest the Dockerfile may pin.
    podmanBuild(IMAGES.worker, hash, root, ["--build-arg", "VARIANT=cpu", "--build-arg", `NODE_IMAGE=${NODE_IMAGE}`], {
      npm: true,
    });
  });
}

function buildKafka() {
  const libs = join(root, ".cache/kafka", KAFKA_VERSION, "libs");
  if (!existsSync(libs) || !readdirSync(libs).some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) {
    // The same jars the local broker runs, fetched from Maven Central once.
    const r = spawnSync(process.execPath, [join(root, "scripts/services.mjs"), "fetch", "kafka"], {
      stdio: ["ignore", 2, 2],
    });
    if (r.status !== 0) throw new Error("fetching the Kafka jars failed (node scripts/services.mjs fetch)");
  }
  const jars = readdirSync(libs).sort();
  const hash = hashInputs(
    [KAFKA_VERSION, ...jars, imageId(IMAGES.debian)],
    ["containers/kafka", "scripts/kafka/log4j2.properties"],
  );
  cached("kafka", hash, () => {
    const ctx = join(cacheDir, "ctx-kafka");
    rmSync(ctx, { recursive: true, force: true });
    cpSync(join(root, "containers/kafka"), ctx, { recursive: true });
    copyFileSync(join(root, "scripts/kafka/log4j2.properties"), join(ctx, "log4j2.properties"));
    mkdirSync(join(ctx, "libs"));
    for (const j of jars) linkOrCopy(join(libs, j), join(ctx, "libs", j));
    podmanBuild(IMAGES.kafka, hash, ctx, ["--build-arg", `BASE_IMAGE=${IMAGES.debian}`]);
    rmSync(ctx, { recursive: true, force: true });
  });
}

function linkOrCopy(from, to) {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

function buildRedis() {
  const hash = hashInputs([imageId(IMAGES.debian)], ["containers/redis"]);
  cached("redis", hash, () => {
    podmanBuild(IMAGES.redis, hash, join(root, "containers/redis"), ["--build-arg", `BASE_IMAGE=${IMAGES.debian}`]);
  });
}

const BUILDS = { debian: buildDebian, node: buildNode, worker: buildWorker, kafka: buildKafka, redis: buildRedis };

function build(names) {
  const unknown = names.filter((n) => !(n in BUILDS));
  if (unknown.length > 0) throw new Error(`unknown image ${unknown.join(", ")} (${Object.keys(BUILDS).join(", ")})`);
  ensureTools(["podman", "runc"]);
  const wanted = names.length > 0 ? names : Object.keys(BUILDS);
  // In dependency order whatever the command line's order; a base is (re)built when it is missing.
  const needed = new Set(wanted);
  if (wanted.some((n) => n !== "debian") && !imageHash(IMAGES.debian)) needed.add("debian");
  if (needed.has("worker") && !imageHash(IMAGES.node)) needed.add("node");
  const t0 = Date.now();
  for (const name of Object.keys(BUILDS)) if (needed.has(name)) BUILDS[name]();
  log(`build: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function images() {
  for (const [name, ref] of Object.entries(IMAGES)) {
    const r = spawnSync("podman", ["image", "inspect", "--format", "{{.Size}}", ref], {
      env: podmanEnv(),
      encoding: "utf8",
    });
    const size = r.status === 0 ? `${(Number(r.stdout.trim()) / 1e6).toFixed(0)} MB` : "not built";
    process.stdout.write(`${name.padEnd(7)} ${ref.padEnd(60)} ${size}\n`);
  }
}

// ---- the API service --------------------------------------------------------------------------------

/** What Testcontainers needs to use podman's socket; printed by `service up` and `env`. */
function serviceEnv(session = readService()?.session) {
  return [
    // Labels the containers the tests start, so `service down` removes this service's leftovers only.
    ...(session ? [`SWDEV_CONTAINER_SESSION=${session}`] : []),
    `DOCKER_HOST=unix://${socketPath}`,
    `CONTAINERS_CONF=${confFile}`,
    // The reaper image (ryuk) is not available without a registry; the tests stop what they start.
    "TESTCONTAINERS_RYUK_DISABLED=true",
    // Reach containers through ports mapped on loopback, never through podman's bridge network.
    "TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1",
  ];
}

function readService() {
  try {
    return JSON.parse(readFileSync(serviceState, "utf8"));
  } catch {
    return undefined;
  }
}

/** True when `pid` still runs our podman service (not a recycled pid). */
function isOurService(state) {
  if (!state?.pid) return false;
  try {
    const cmd = readFileSync(`/proc/${state.pid}/cmdline`, "utf8").split("\0");
    return cmd.includes("system") && cmd.includes("service") && cmd.some((a) => a.endsWith(socketPath));
  } catch {
    return false;
  }
}

function ping() {
  return new Promise((res) => {
    const req = request({ socketPath, path: "/_ping", timeout: 2_000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on("error", () => res(false));
    req.on("timeout", () => {
      req.destroy();
      res(false);
    });
    req.end();
  });
}

async function serviceUp() {
  const state = readService();
  if (isOurService(state) && (await ping())) {
    process.stdout.write(`${serviceEnv().join("\n")}\n`);
    return;
  }
  ensureTools(["podman", "runc"]);
  mkdirSync(cacheDir, { recursive: true });
  rmSync(socketPath, { force: true });
  const logFile = join(cacheDir, "service.log");
  const out = openSync(logFile, "a");
  // --time=0: no idle timeout; it runs until `service down` stops it by its pid.
  const child = spawn("podman", ["system", "service", "--time=0", `unix://${socketPath}`], {
    env: podmanEnv(),
    detached: true,
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  child.unref();
  writeFileSync(
    serviceState,
    JSON.stringify({ pid: child.pid, socket: socketPath, started: new Date().toISOString() }),
  );
  const deadline = Date.now() + 30_000;
  while (!(await ping())) {
    if (Date.now() > deadline || child.exitCode !== null) {
      stopPid(child.pid);
      throw new Error(`podman system service did not answer on ${socketPath}; its log: ${logFile}`);
    }
    await sleep(200);
  }
  log(`podman API on ${socketPath} (pid ${child.pid})`);
  process.stdout.write(`${serviceEnv().join("\n")}\n`);
}

function stopPid(pid) {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    spawnSync("sleep", ["0.1"]);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
}

function serviceDown() {
  const state = readService();
  // Containers a test of this service left behind (a crash before its cleanup), by their label.
  if (state?.session && which("podman")) {
    const ids = spawnSync("podman", ["ps", "-aq", "--filter", `label=io.sentiment-worker.test=${state.session}`], {
      env: podmanEnv(),
      encoding: "utf8",
    }).stdout.trim();
    if (ids) podman(["rm", "-f", "-t", "2", ...ids.split("\n")], { capture: true });
  }
  if (isOurService(state)) {
    stopPid(state.pid);
    log(`stopped the podman API service (pid ${state.pid})`);
  }
  rmSync(serviceState, { force: true });
  rmSync(socketPath, { force: true });
}

async function serviceStatus() {
  if (isOurService(readService()) && (await ping())) {
    process.stdout.write(`${serviceEnv().join("\n")}\n`);
  } else {
    process.exitCode = 1;
  }
}

// ---- main -------------------------------------------------------------------------------------------

const usage =
  "usage: node scripts/containers.mjs build [debian|node|worker|kafka|redis ...] | service up|down|status | images | env\n";
const [command, ...rest] = process.argv.slice(2);
try {
  if (command === "build") build(rest);
  else if (command === "images") images();
  else if (command === "env") process.stdout.write(`${serviceEnv().join("\n")}\n`);
  else if (command === "service" && rest[0] === "up") await serviceUp();
  else if (command === "service" && rest[0] === "down") serviceDown();
  else if (command === "service" && rest[0] === "status") await serviceStatus();
  else {
    process.stderr.write(usage);
    process.exitCode = 2;
  }
} catch (err) {
  log(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
