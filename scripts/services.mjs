#!/usr/bin/env node
// Starts and stops the local Apache Kafka broker (KRaft, single node) and Redis that the tests,
// demos and benchmarks use, each on a free loopback port. No Docker needed.
//
//   node scripts/services.mjs up      start what is not running; print KAFKA_BROKERS=... REDIS_URL=...
//                                     (and the secured listeners: KAFKA_SASL_BROKERS, KAFKA_TLS_BROKERS, ...)
//   node scripts/services.mjs down    stop exactly the processes `up` started (by process id)
//   node scripts/services.mjs status  print the settings of what runs, exit 1 when nothing does
//   node scripts/services.mjs fetch   download the Kafka jars into the cache only
//
// Use `export $(node scripts/services.mjs up)` to export the settings into a shell.
// State lives in $SW_SERVICES_DIR (default .cache/services); jars in .cache/kafka/<version>/libs.
// Plain Node with no npm packages, so it runs before `npm ci` too.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pom = join(root, "scripts/kafka/pom.xml");
const KAFKA_VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(pom, "utf8"))[1];
const libs = join(root, ".cache/kafka", KAFKA_VERSION, "libs");
const stateDir = resolve(process.env.SW_SERVICES_DIR ?? join(root, ".cache/services"));
const stateFile = join(stateDir, "state.json");
const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 90_000;
// The test user of the secured listeners (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 alike). A local
// test broker's credentials, printed with the other settings so tests need not repeat them.
const SASL_USER = "sw-test";
const SASL_PASSWORD = "sw-test-secret";

const log = (msg) => process.stderr.write(`services: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

async function waitFor(what, check, pidEntry, marker, logFile) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (!isOurs(pidEntry, marker)) break;
    await sleep(250);
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n") : "";
  throw new Error(`${what} did not become ready (log ${logFile}):\n${tail}`);
}

function startDetached(command, args, logFile) {
  const out = openSync(logFile, "a");
  const child = spawn(command, args, { detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  child.unref();
  return child.pid;
}

function fetchKafka() {
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) return;
  log(`fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${libs}`);
  mkdirSync(libs, { recursive: true });
  const mvn = spawnSync(
    "mvn",
    [
      "-q",
      "-B",
      "-Dstyle.color=never",
      "-f",
      pom,
      "dependency:copy-dependencies",
      "-DincludeScope=runtime",
      `-DoutputDirectory=${libs}`,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  if (mvn.error || mvn.status !== 0) {
    rmSync(libs, { recursive: true, force: true });
    throw new Error(
      `mvn could not fetch the Kafka jars (${mvn.error?.message ?? `exit ${mvn.status}`}); is Maven installed?`,
    );
  }
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

async function startKafka() {
  fetchKafka();
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
  const log4j = join(root, "scripts/kafka/log4j2.properties");
  const classpath = `${libs}/*`;
  const jvm = [
    "-Xms256m",
    "-Xmx1g",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${log4j}`,
    "-cp",
    classpath,
  ];
  const clusterId = randomBytes(16).toString("base64url");
  // SCRAM credentials live in the cluster metadata; KRaft takes them at format time.
  const scramUsers = ["SCRAM-SHA-256", "SCRAM-SHA-512"].flatMap((m) => [
    "--add-scram",
    `${m}=[name=${SASL_USER},password=${SASL_PASSWORD}]`,
  ]);
  const format = spawnSync(
    "java",
    [...jvm, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", props, ...scramUsers],
    { encoding: "utf8" },
  );
  if (format.status !== 0) throw new Error(`kafka storage format failed:\n${format.stdout}${format.stderr}`);
  const logFile = join(dir, "kafka.log");
  const pid = startDetached("java", [...jvm, "kafka.Kafka", props], logFile);
  const entry = { pid, port, controllerPort, saslPort, tlsPort, caFile: tls.caFile, version: KAFKA_VERSION, logFile };
  // The broker logs this once it serves clients; the port alone opens earlier.
  await waitFor(
    `Kafka ${KAFKA_VERSION}`,
    async () =>
      existsSync(logFile) &&
      readFileSync(logFile, "utf8").includes("Kafka Server started") &&
      (await ask(port, "")) !== null,
    entry,
    "kafka.Kafka",
    logFile,
  );
  return entry;
}

function redisBinary() {
  for (const candidate of [process.env.REDIS_SERVER, "/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  throw new Error("redis-server not found: install it (Debian: apt-get install redis-server) or set REDIS_SERVER");
}

async function startRedis() {
  const port = await freePort();
  const dir = join(stateDir, "redis");
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, "redis.log");
  const args = ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", dir];
  const pid = startDetached(redisBinary(), args, logFile);
  const entry = { pid, port, logFile };
  await waitFor(
    "Redis",
    async () => (await ask(port, "PING\r\n"))?.startsWith("+PONG"),
    entry,
    "redis-server",
    logFile,
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
  return lines.map((l) => `${l}\n`).join("");
}

async function stop(entry, marker, what) {
  if (!isOurs(entry, marker)) return;
  process.kill(entry.pid, "SIGTERM");
  for (let i = 0; i < 60 && isOurs(entry, marker); i++) await sleep(250);
  if (isOurs(entry, marker)) process.kill(entry.pid, "SIGKILL");
  log(`stopped ${what} (pid ${entry.pid})`);
}

async function up() {
  const state = readState();
  if (!isOurs(state.kafka, "kafka.Kafka")) {
    state.kafka = await startKafka();
    writeState(state);
    log(`Kafka ${KAFKA_VERSION} on ${HOST}:${state.kafka.port} (pid ${state.kafka.pid})`);
  }
  if (!isOurs(state.redis, "redis-server")) {
    state.redis = await startRedis();
    writeState(state);
    log(`Redis on ${HOST}:${state.redis.port} (pid ${state.redis.pid})`);
  }
  process.stdout.write(settings(state));
}

async function down() {
  const state = readState();
  await stop(state.kafka, "kafka.Kafka", "Kafka");
  await stop(state.redis, "redis-server", "Redis");
  rmSync(stateFile, { force: true });
}

function status() {
  const state = readState();
  const running = {
    kafka: isOurs(state.kafka, "kafka.Kafka") ? state.kafka : undefined,
    redis: isOurs(state.redis, "redis-server") ? state.redis : undefined,
  };
  process.stdout.write(settings(running));
  if (!running.kafka || !running.redis) process.exitCode = 1;
}

const commands = { up, down, status, fetch: fetchKafka };
const command = commands[process.argv[2]];
if (!command) {
  process.stderr.write("usage: node scripts/services.mjs up|down|status|fetch\n");
  process.exit(2);
}
try {
  await command();
} catch (e) {
  log(e.message);
  process.exit(1);
}
