#!/usr/bin/env node
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  accessSync,
  closeSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createConnection, createServer } from "node:net";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
// Starts and stops the local Apache Kafka broker (KRaft, single node), Redis and a schema registry
// (Apicurio Registry, in memory, Confluent-compatible API) that the tests, demos and benchmarks use,
// each on a free loopback port. No Docker needed.
//
//   node scripts/services.mjs up [kafka] [redis] [registry]
//                            start what is not running (default Kafka and Redis; the registry when
//                            named); print KAFKA_BROKERS=... REDIS_URL=... SCHEMA_REGISTRY_URL=...
//                            (and the secured listeners: KAFKA_SASL_BROKERS, KAFKA_TLS_BROKERS, ...)
//   node scripts/services.mjs down [kafka] [redis] [registry]
//                            stop exactly the processes `up` started (by process id; default all)
//   node scripts/services.mjs status     print the settings of what runs, exit 1 unless Kafka and Redis do
//   node scripts/services.mjs fetch [kafka] [registry]
//                            download the Kafka jars and build the registry into the caches only
//
// Chaos commands (for tests that take a broker or Redis away; they refuse to run without an
// explicit SWDEV_SERVICES_DIR, so a stray call cannot kill the shared services others test against):
//
//   kill-kafka   SIGKILL the broker; its ports, data and cluster id are kept
//   start-kafka  start it again on the same ports and data directory (no re-format); print the settings
//   kill-redis   SIGKILL redis-server (no persistence: its keys are gone)
//   start-redis  start it again on the same port; print the settings
//   kill-registry / start-registry   the same for the schema registry (in memory: its schemas are gone)
//
// Use `export $(node scripts/services.mjs up)` to export the settings into a shell: stdout carries
// the settings only, everything else (Maven, apt-get, progress) goes to stderr.
// State lives in $SWDEV_SERVICES_DIR (default .cache/services; not SW_..., a prefix the worker
// reserves for its own settings and refuses when unknown); jars in .cache/kafka/<version>/libs.
// Another SWDEV_SERVICES_DIR gives a second, isolated set on other ports
// (test/helpers/chaos-services.ts does that for tests).
// The registry is Apicurio Registry built as a Quarkus app from Maven Central (scripts/registry/pom.xml),
// once, into ~/.cache/sentiment-worker-tools/apicurio-registry/ (SENTIMENT_WORKER_TOOLS_DIR), outside the
// clone so CI reruns reuse it (about 30 s cold).
// Missing redis-server, mvn or java are installed with apt-get when running as root, else the
// error says what to run. `up` stops what it started when a later step fails.
// Plain Node with no npm packages, so it runs before `npm ci` too.
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pom = join(root, "scripts/kafka/pom.xml");
const KAFKA_VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(pom, "utf8"))[1];
const libs = join(root, ".cache/kafka", KAFKA_VERSION, "libs");
const registryDir = join(root, "scripts/registry");
const REGISTRY_VERSION = /<apicurio\.version>([^<]+)<\/apicurio\.version>/.exec(
  readFileSync(join(registryDir, "pom.xml"), "utf8"),
)[1];
const tools = resolve(process.env.SENTIMENT_WORKER_TOOLS_DIR || join(homedir(), ".cache", "sentiment-worker-tools"));
/** Keyed by the pom and the build's settings, so an edit to either builds again. */
const registryBuild = join(
  tools,
  "apicurio-registry",
  `${REGISTRY_VERSION}-${createHash("sha256")
    .update(readFileSync(join(registryDir, "pom.xml")))
    .update(readFileSync(join(registryDir, "src/main/resources/application.properties")))
    .digest("hex")
    .slice(0, 12)}`,
);
const registryJar = join(registryBuild, "target", "local-schema-registry-1-runner.jar");
/** Where the registry's Confluent-compatible API answers. */
const REGISTRY_API = "/apis/ccompat/v7";
const explicitDir = process.env.SWDEV_SERVICES_DIR;
const stateDir = resolve(explicitDir || join(root, ".cache/services"));
const stateFile = join(stateDir, "state.json");
const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 90_000;
// The test user of the secured listeners (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 alike). A local
// test broker's credentials, printed with the other settings so tests need not repeat them.
const SASL_USER = "sw-test";
const SASL_PASSWORD = "sw-test-secret";

const log = (msg) => process.stderr.write(`services: ${msg}\n`);

function readState() {
  try {
    return JSON.parse(readFileSync(stateFile, "utf8"));
  } catch {
    return {};
  }
}

function writeState(state) {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

/** True when `pid` runs and is still the program we started (pids are reused). */
function isOurs(entry, marker) {
  if (!entry?.pid) return false;
  try {
    return readFileSync(`/proc/${entry.pid}/cmdline`, "utf8").includes(marker);
  } catch {
    return false;
  }
}

function freePort() {
  return new Promise((res, rej) => {
    const server = createServer();
    server.unref();
    server.on("error", rej);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
  });
}

/** Sends `request` to host:port and resolves with the reply, or null when nothing answers. */
function ask(port, request, timeoutMs = 1000) {
  return new Promise((res) => {
    const socket = createConnection({ host: HOST, port });
    let reply = "";
    const done = (value) => {
      socket.destroy();
      res(value);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on("error", () => done(null));
    socket.on("connect", () => (request ? socket.write(request) : done("")));
    socket.on("data", (d) => {
      reply += d.toString();
      if (reply.includes("\n")) done(reply);
    });
  });
}

/** Kills `pid` when it is still the program we started; a start that failed leaves nothing behind. */
function killIfOurs(pid, marker) {
  if (isOurs({ pid }, marker)) process.kill(pid, "SIGKILL");
}

/**
 * Waits until `check` passes, while the process runs. `logFrom` is where this start's part of the
 * (appended) log begins, so a restart does not mistake the previous run's lines for its own.
 */
async function waitFor(what, check, pidEntry, marker, logFile, logFrom = 0) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (!isOurs(pidEntry, marker)) break;
    await sleep(250);
  }
  killIfOurs(pidEntry.pid, marker);
  const tail = existsSync(logFile) ? readLog(logFile, logFrom).split("\n").slice(-30).join("\n") : "";
  throw new Error(`${what} did not become ready (log ${logFile}):\n${tail}`);
}

function readLog(logFile, from) {
  try {
    return readFileSync(logFile).subarray(from).toString("utf8");
  } catch {
    return "";
  }
}

const logSize = (logFile) => (existsSync(logFile) ? statSync(logFile).size : 0);

function startDetached(command, args, logFile) {
  const out = openSync(logFile, "a");
  const child = spawn(command, args, { detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  child.unref();
  return child.pid;
}

/** The executable `name` on PATH (or one of `extra`), else undefined. */
function which(name, extra = []) {
  const dirs = (process.env.PATH ?? "").split(":").filter(Boolean);
  for (const candidate of [...dirs.map((d) => join(d, name)), ...extra]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/**
 * The path of `command`; when it is missing, installs Debian's `pkg` as root with apt-get (output
 * to stderr: stdout carries the settings only), else fails saying exactly what to run.
 */
function ensureInstalled(command, pkg, extra = []) {
  const found = which(command, extra);
  if (found) return found;
  const install = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${pkg}`;
  const aptGet = which("apt-get");
  if (!aptGet || process.getuid?.() !== 0) {
    const how = aptGet ? `sudo sh -c '${install}'` : `your system's package manager (Debian/Ubuntu: ${install})`;
    throw new Error(`${command} not found: install ${pkg} with ${how}, then run this again`);
  }
  log(`${command} not found: installing ${pkg} (apt-get)`);
  const run = (args) => {
    const result = spawnSync(aptGet, args, {
      stdio: ["ignore", 2, 2],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (result.error || result.status !== 0) {
      throw new Error(
        `apt-get ${args[0]} failed (${result.error?.message ?? `exit ${result.status}`}): install ${pkg} yourself (${install})`,
      );
    }
  };
  run(["update"]);
  run(["install", "-y", pkg]);
  const installed = which(command, extra);
  if (!installed) throw new Error(`${pkg} was installed but ${command} is still not found on PATH`);
  return installed;
}

function fetchKafka() {
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) return;
  const mvnPath = ensureInstalled("mvn", "maven");
  log(`fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${libs}`);
  mkdirSync(libs, { recursive: true });
  const mvn = spawnSync(
    mvnPath,
    [
      "-q",
      "-B",
      "--no-transfer-progress",
      "-Dstyle.color=never",
      "-f",
      pom,
      "dependency:copy-dependencies",
      "-DincludeScope=runtime",
      `-DoutputDirectory=${libs}`,
    ],
    // Maven's output to stderr: stdout is for the settings `export $(... up)` reads.
    { stdio: ["ignore", 2, 2] },
  );
  if (mvn.error || mvn.status !== 0) {
    rmSync(libs, { recursive: true, force: true });
    throw new Error(`mvn could not fetch the Kafka jars (${mvn.error?.message ?? `exit ${mvn.status}`})`);
  }
}

/** Builds the registry (scripts/registry/pom.xml) into the tools cache, unless built already. */
function fetchRegistry() {
  if (existsSync(registryJar)) return;
  const mvnPath = ensureInstalled("mvn", "maven");
  ensureInstalled("java", "default-jre-headless");
  log(`building Apicurio Registry ${REGISTRY_VERSION} from Maven Central into ${registryBuild}`);
  rmSync(registryBuild, { recursive: true, force: true });
  mkdirSync(registryBuild, { recursive: true });
  cpSync(join(registryDir, "pom.xml"), join(registryBuild, "pom.xml"));
  cpSync(join(registryDir, "src"), join(registryBuild, "src"), { recursive: true });
  const mvn = spawnSync(
    mvnPath,
    ["-q", "-B", "--no-transfer-progress", "-Dstyle.color=never", "-DskipTests", "package"],
    // Maven's output to stderr: stdout is for the settings `export $(... up)` reads.
    { cwd: registryBuild, stdio: ["ignore", 2, 2] },
  );
  if (mvn.error || mvn.status !== 0 || !existsSync(registryJar)) {
    rmSync(registryBuild, { recursive: true, force: true });
    throw new Error(`mvn could not build the schema registry (${mvn.error?.message ?? `exit ${mvn.status}`})`);
  }
}

/** Kafka's jars and the registry's build (or those named: kafka, registry), into their caches. */
function fetchAll(args) {
  const unknown = args.filter((a) => a !== "kafka" && a !== "registry");
  if (unknown.length > 0) throw new Error(`nothing to fetch for ${unknown.join(", ")} (kafka, registry)`);
  if (args.length === 0 || args.includes("kafka")) fetchKafka();
  if (args.length === 0 || args.includes("registry")) fetchRegistry();
}

/**
 * A self-signed certificate for 127.0.0.1 (keytool comes with the JDK): the broker's keystore and
 * the PEM that clients trust as their CA.
 */
function makeTlsFiles(dir) {
  const keystore = join(dir, "broker.p12");
  const caFile = join(dir, "ca.pem");
  const password = randomBytes(12).toString("hex");
  const keytool = (args) => {
    const result = spawnSync("keytool", args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`keytool ${args[0]} failed:\n${result.stdout}${result.stderr}`);
  };
  keytool([
    "-genkeypair",
    "-alias",
    "broker",
    "-keyalg",
    "RSA",
    "-keysize",
    "2048",
    "-validity",
    "3650",
    "-dname",
    "CN=localhost",
    "-ext",
    `SAN=IP:${HOST},DNS:localhost`,
    "-keystore",
    keystore,
    "-storetype",
    "PKCS12",
    "-storepass",
    password,
    "-keypass",
    password,
  ]);
  keytool(["-exportcert", "-rfc", "-alias", "broker", "-keystore", keystore, "-storepass", password, "-file", caFile]);
  return { keystore, caFile, password };
}

function kafkaJvm() {
  const log4j = join(root, "scripts/kafka/log4j2.properties");
  return ["-Xms256m", "-Xmx1g", "-Djava.awt.headless=true", `-Dlog4j2.configurationFile=${log4j}`, "-cp", `${libs}/*`];
}

/** Starts the broker of `entry` (its server.properties, ports and formatted data) and waits for it. */
async function launchKafka(entry) {
  const from = logSize(entry.logFile);
  const pid = startDetached(
    ensureInstalled("java", "default-jre-headless"),
    [...kafkaJvm(), "kafka.Kafka", entry.props],
    entry.logFile,
  );
  const running = { ...entry, pid };
  // The broker logs this once it serves clients; the port alone opens earlier.
  await waitFor(
    `Kafka ${KAFKA_VERSION}`,
    async () => readLog(entry.logFile, from).includes("Kafka Server started") && (await ask(entry.port, "")) !== null,
    running,
    "kafka.Kafka",
    entry.logFile,
    from,
  );
  return running;
}

async function startKafka() {
  fetchKafka();
  ensureInstalled("java", "default-jre-headless");
  const [port, controllerPort, saslPort, tlsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const dir = join(stateDir, "kafka");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "data"), { recursive: true });
  const tls = makeTlsFiles(dir);
  const scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;";
  const props = join(dir, "server.properties");
  writeFileSync(
    props,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@${HOST}:${controllerPort}`,
      // Besides the plain listener the tests mostly use: SASL (PLAIN and SCRAM) and TLS ones, so
      // the client's security settings are tested against a real broker.
      `listeners=PLAINTEXT://${HOST}:${port},SASL_PLAINTEXT://${HOST}:${saslPort},SSL://${HOST}:${tlsPort},CONTROLLER://${HOST}:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${HOST}:${port},SASL_PLAINTEXT://${HOST}:${saslPort},SSL://${HOST}:${tlsPort}`,
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT",
      "inter.broker.listener.name=PLAINTEXT",
      "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
      `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${SASL_USER}="${SASL_PASSWORD}";`,
      `listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=${scram}`,
      `listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${scram}`,
      "ssl.keystore.type=PKCS12",
      `ssl.keystore.location=${tls.keystore}`,
      `ssl.keystore.password=${tls.password}`,
      `ssl.key.password=${tls.password}`,
      `log.dirs=${join(dir, "data")}`,
      // One node: every internal topic with one replica, so transactions and groups work.
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=5",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "transaction.state.log.num.partitions=5",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "min.insync.replicas=1",
      "num.partitions=1",
      // Tests create their topics; a missing topic must be an error, as in production.
      "auto.create.topics.enable=false",
      "group.initial.rebalance.delay.ms=0",
      "",
    ].join("\n"),
  );
  // An id starting with "-" reads as an option to the storage tool (Kafka's own ids avoid it too).
  let clusterId;
  do clusterId = randomBytes(16).toString("base64url");
  while (clusterId.startsWith("-"));
  // SCRAM credentials live in the cluster metadata; KRaft takes them at format time.
  const scramUsers = ["SCRAM-SHA-256", "SCRAM-SHA-512"].flatMap((m) => [
    "--add-scram",
    `${m}=[name=${SASL_USER},password=${SASL_PASSWORD}]`,
  ]);
  const format = spawnSync(
    "java",
    [...kafkaJvm(), "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", props, ...scramUsers],
    { encoding: "utf8" },
  );
  if (format.status !== 0) throw new Error(`kafka storage format failed:\n${format.stdout}${format.stderr}`);
  const entry = {
    port,
    controllerPort,
    saslPort,
    tlsPort,
    caFile: tls.caFile,
    version: KAFKA_VERSION,
    clusterId,
    props,
    dataDir: join(dir, "data"),
    logFile: join(dir, "kafka.log"),
  };
  return launchKafka(entry);
}

/** The broker of an earlier `up`, started again as it was: same ports, data and cluster id. */
async function restartKafka(entry) {
  const props = entry.props ?? join(stateDir, "kafka", "server.properties");
  const dataDir = entry.dataDir ?? join(stateDir, "kafka", "data");
  if (!existsSync(props) || !existsSync(join(dataDir, "meta.properties"))) {
    throw new Error(`no formatted Kafka storage in ${dataDir}: run \`up\` first`);
  }
  return launchKafka({ ...entry, props, dataDir });
}

function redisBinary() {
  const fromEnv = process.env.REDIS_SERVER;
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new Error(`REDIS_SERVER=${fromEnv} does not exist`);
  }
  return ensureInstalled("redis-server", "redis-server", ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]);
}

/** Starts redis-server on `port` (a free one when not given) and waits for its PONG. */
async function startRedis(port) {
  const binary = redisBinary();
  const chosen = port ?? (await freePort());
  const dir = join(stateDir, "redis");
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, "redis.log");
  const from = logSize(logFile);
  const args = ["--port", String(chosen), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", dir];
  const pid = startDetached(binary, args, logFile);
  const entry = { pid, port: chosen, logFile };
  await waitFor(
    "Redis",
    async () => (await ask(chosen, "PING\r\n"))?.startsWith("+PONG"),
    entry,
    "redis-server",
    logFile,
    from,
  );
  return entry;
}

/** Starts the schema registry on `port` (a free one when not given) and waits until its API answers. */
async function startRegistry(port) {
  fetchRegistry();
  const java = ensureInstalled("java", "default-jre-headless");
  const chosen = port ?? (await freePort());
  const dir = join(stateDir, "registry");
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, "registry.log");
  const from = logSize(logFile);
  const args = [
    "-Xms64m",
    "-Xmx256m",
    "-Djava.awt.headless=true",
    `-Dquarkus.http.host=${HOST}`,
    `-Dquarkus.http.port=${chosen}`,
    // The build directory is not the working directory, so Quarkus's relative paths stay in `dir`.
    `-Djava.io.tmpdir=${dir}`,
    "-jar",
    registryJar,
  ];
  const pid = startDetached(java, args, logFile);
  const entry = { pid, port: chosen, logFile };
  await waitFor(
    `Apicurio Registry ${REGISTRY_VERSION}`,
    async () =>
      /^HTTP\/1\.[01] 200 /.test(
        (await ask(chosen, `GET ${REGISTRY_API}/subjects HTTP/1.0\r\nHost: ${HOST}\r\n\r\n`)) ?? "",
      ),
    entry,
    SERVICES.registry.marker,
    logFile,
    from,
  );
  return entry;
}

function settings(state) {
  const lines = [];
  if (state.kafka) lines.push(`KAFKA_BROKERS=${HOST}:${state.kafka.port}`);
  if (state.kafka?.saslPort) {
    lines.push(
      `KAFKA_SASL_BROKERS=${HOST}:${state.kafka.saslPort}`,
      `KAFKA_SASL_USERNAME=${SASL_USER}`,
      `KAFKA_SASL_PASSWORD=${SASL_PASSWORD}`,
    );
  }
  if (state.kafka?.tlsPort)
    lines.push(`KAFKA_TLS_BROKERS=${HOST}:${state.kafka.tlsPort}`, `KAFKA_TLS_CA=${state.kafka.caFile}`);
  if (state.redis) lines.push(`REDIS_URL=redis://${HOST}:${state.redis.port}`);
  if (state.registry) lines.push(`SCHEMA_REGISTRY_URL=http://${HOST}:${state.registry.port}${REGISTRY_API}`);
  return lines.map((l) => `${l}\n`).join("");
}

const SERVICES = {
  kafka: { marker: "kafka.Kafka", name: "Kafka" },
  redis: { marker: "redis-server", name: "Redis" },
  registry: { marker: "local-schema-registry", name: "the schema registry" },
};
/** What `up` starts when no service is named: the registry only when asked for (it costs 200 MB). */
const DEFAULT_UP = ["kafka", "redis"];

/** The entries of `state` whose process runs. */
function running(state) {
  return Object.fromEntries(
    Object.entries(SERVICES).map(([k, s]) => [k, isOurs(state[k], s.marker) ? state[k] : undefined]),
  );
}

/** The services named on the command line (kafka, redis, registry), else `fallback`. */
function selected(args, fallback = Object.keys(SERVICES)) {
  const unknown = args.filter((a) => !(a in SERVICES));
  if (unknown.length > 0) throw new Error(`unknown service ${unknown.join(", ")} (kafka, redis, registry)`);
  return args.length > 0 ? args : fallback;
}

async function stop(entry, marker, what) {
  if (!isOurs(entry, marker)) return;
  process.kill(entry.pid, "SIGTERM");
  for (let i = 0; i < 60 && isOurs(entry, marker); i++) await sleep(250);
  if (isOurs(entry, marker)) process.kill(entry.pid, "SIGKILL");
  log(`stopped ${what} (pid ${entry.pid})`);
}

async function up(args) {
  const wanted = selected(args, DEFAULT_UP);
  const state = readState();
  // What this `up` started, so a later failure stops it again instead of leaving it running.
  const started = [];
  // Prerequisites first (jars, java, redis-server; installed when missing), before anything starts.
  const needKafka = wanted.includes("kafka") && !isOurs(state.kafka, "kafka.Kafka");
  const needRedis = wanted.includes("redis") && !isOurs(state.redis, "redis-server");
  const needRegistry = wanted.includes("registry") && !isOurs(state.registry, SERVICES.registry.marker);
  if (needKafka) {
    fetchKafka();
    ensureInstalled("java", "default-jre-headless");
  }
  if (needRedis) redisBinary();
  if (needRegistry) fetchRegistry();
  try {
    if (needKafka) {
      state.kafka = await startKafka();
      started.push("kafka");
      writeState(state);
      log(`Kafka ${KAFKA_VERSION} on ${HOST}:${state.kafka.port} (pid ${state.kafka.pid})`);
    }
    if (needRedis) {
      state.redis = await startRedis();
      started.push("redis");
      writeState(state);
      log(`Redis on ${HOST}:${state.redis.port} (pid ${state.redis.pid})`);
    }
    if (needRegistry) {
      state.registry = await startRegistry();
      started.push("registry");
      writeState(state);
      log(`Apicurio Registry ${REGISTRY_VERSION} on ${HOST}:${state.registry.port} (pid ${state.registry.pid})`);
    }
  } catch (e) {
    for (const key of started.reverse()) {
      await stop(state[key], SERVICES[key].marker, SERVICES[key].name);
      delete state[key];
    }
    if (started.length > 0) writeState(state);
    throw e;
  }
  process.stdout.write(settings(running(state)));
}

async function down(args) {
  const state = readState();
  for (const key of selected(args)) {
    await stop(state[key], SERVICES[key].marker, SERVICES[key].name);
    delete state[key];
  }
  if (Object.keys(SERVICES).some((k) => state[k])) writeState(state);
  else rmSync(stateFile, { force: true });
}

function status() {
  const now = running(readState());
  process.stdout.write(settings(now));
  if (!now.kafka || !now.redis) process.exitCode = 1;
}

/** The chaos commands act on an explicitly named state directory only (see the header). */
function chaosState(key) {
  if (!explicitDir) {
    throw new Error(
      "kill-*/start-* act on SWDEV_SERVICES_DIR only: set it (to .cache/services for the shared services, if you mean them)",
    );
  }
  const state = readState();
  if (!state[key]) throw new Error(`no ${SERVICES[key].name} in ${stateDir}: run \`up\` first`);
  return state;
}

async function kill(key) {
  const state = chaosState(key);
  const { marker, name } = SERVICES[key];
  const entry = state[key];
  if (!isOurs(entry, marker)) {
    log(`${name} of ${stateDir} is not running`);
    return;
  }
  process.kill(entry.pid, "SIGKILL");
  // Gone once /proc no longer shows it running (a zombie has an empty command line).
  for (let i = 0; i < 100 && isOurs(entry, marker); i++) await sleep(50);
  if (isOurs(entry, marker)) throw new Error(`${name} (pid ${entry.pid}) did not die`);
  log(`killed ${name} (pid ${entry.pid}); its port ${entry.port}${key === "kafka" ? " and data" : ""} kept`);
}

async function start(key) {
  const state = chaosState(key);
  const { marker, name } = SERVICES[key];
  if (!isOurs(state[key], marker)) {
    state[key] =
      key === "kafka"
        ? await restartKafka(state.kafka)
        : key === "redis"
          ? await startRedis(state.redis.port)
          : await startRegistry(state.registry.port);
    writeState(state);
    log(`${name} on ${HOST}:${state[key].port} again (pid ${state[key].pid})`);
  }
  process.stdout.write(settings(running(state)));
}

const commands = {
  up,
  down,
  status,
  fetch: fetchAll,
  "kill-kafka": () => kill("kafka"),
  "start-kafka": () => start("kafka"),
  "kill-redis": () => kill("redis"),
  "start-redis": () => start("redis"),
  "kill-registry": () => kill("registry"),
  "start-registry": () => start("registry"),
};
const command = commands[process.argv[2]];
if (!command) {
  process.stderr.write(
    "usage: node scripts/services.mjs up|down [kafka] [redis] [registry] | status | fetch [kafka] [registry] | kill-kafka | start-kafka | kill-redis | start-redis | kill-registry | start-registry\n",
  );
  process.exit(2);
}
try {
  await command(process.argv.slice(3));
} catch (e) {
  log(e.message);
  process.exit(1);
}
