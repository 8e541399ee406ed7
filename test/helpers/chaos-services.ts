/**
 * Services of a test's own, for chaos tests: a Kafka broker and/or a Redis started by
 * scripts/services.mjs in a temporary SWDEV_SERVICES_DIR, on free loopback ports, beside (never
 * instead of) the shared ones other tests use. The test can SIGKILL them and start them again on
 * the same ports (and, for Kafka, the same data and cluster id), while a worker runs in-process.
 *
 *   const own = await startIsolatedServices({ kafka: true, redis: false });  // 10-30 s for a broker
 *   try {
 *     // own.brokers: "127.0.0.1:<port>"; own.redisUrl: set when redis: true
 *     await own.killKafka();   // SIGKILL; returns once the process is gone
 *     await own.startKafka();  // same port and data; resolves once it serves clients again
 *   } finally {
 *     await own.stop();        // stops what runs and removes the state directory
 *   }
 *
 * `kafka` and `redis` both default to true. Each call runs services.mjs as a child process (never
 * a synchronous spawn: the worker under test shares this event loop and must keep running). A
 * process that exits without `stop()` still SIGKILLs its services and removes the directory; only
 * a SIGKILL of the test process itself leaves them (`SWDEV_SERVICES_DIR=<dir> node
 * scripts/services.mjs down` then stops them; `dir` is the directory).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./fixtures.js";

const SCRIPT = join(REPO_ROOT, "scripts/services.mjs");
/** Above services.mjs's own 90 s start timeout, so its message (with the log's tail) is what we see. */
const COMMAND_TIMEOUT_MS = 150_000;

export interface IsolatedServices {
  /** The PLAINTEXT listener, `127.0.0.1:<port>`; "" when started without Kafka. */
  readonly brokers: string;
  /** `redis://127.0.0.1:<port>`; undefined when started without Redis. */
  readonly redisUrl?: string;
  /** Every setting `up` printed (KAFKA_SASL_BROKERS, KAFKA_TLS_CA, ...). */
  readonly settings: Readonly<Record<string, string>>;
  /** The state directory (ports, pids, logs, Kafka's data). */
  readonly dir: string;
  /** SIGKILLs the broker; its port, data and cluster id are kept. */
  killKafka(): Promise<void>;
  /** Starts the broker again on the same port and data; resolves once it serves clients. */
  startKafka(): Promise<void>;
  /** SIGKILLs redis-server (no persistence: its keys are gone). */
  killRedis(): Promise<void>;
  /** Starts redis-server again on the same port. */
  startRedis(): Promise<void>;
  /** Stops whatever runs and removes the state directory; safe to call twice. */
  stop(): Promise<void>;
}

/** Runs `services.mjs <args>` for `dir`; resolves with its stdout (the settings), rejects with its stderr. */
function services(dir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], {
      env: { ...process.env, SWDEV_SERVICES_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), COMMAND_TIMEOUT_MS);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`services.mjs ${args.join(" ")} failed (${signal ?? `exit ${code}`}):\n${stderr}`));
    });
  });
}

function parseSettings(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** Directories of isolated services not stopped yet, cleaned up when the process exits. */
const live = new Set<string>();

/** Synchronous last resort (an `exit` handler can do nothing else): SIGKILL what the state names. */
function killNow(dir: string): void {
  try {
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as Record<string, { pid?: number }>;
    for (const [key, marker] of [
      ["kafka", "kafka.Kafka"],
      ["redis", "redis-server"],
    ] as const) {
      const pid = state[key]?.pid;
      // Only while the pid still runs what services.mjs started (pids are reused).
      if (pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker)) process.kill(pid, "SIGKILL");
    }
  } catch {
    // Nothing recorded or already gone.
  }
  rmSync(dir, { recursive: true, force: true });
}

process.on("exit", () => {
  for (const dir of live) killNow(dir);
});

export async function startIsolatedServices(
  options: { kafka?: boolean; redis?: boolean } = {},
): Promise<IsolatedServices> {
  const wanted = [...(options.kafka !== false ? ["kafka"] : []), ...(options.redis !== false ? ["redis"] : [])];
  if (wanted.length === 0) throw new Error("startIsolatedServices: nothing to start");
  const dir = mkdtempSync(join(tmpdir(), "sw-chaos-"));
  live.add(dir);
  let settings: Record<string, string>;
  try {
    settings = parseSettings(await services(dir, ["up", ...wanted]));
  } catch (error) {
    live.delete(dir);
    killNow(dir);
    throw error;
  }
  let stopping: Promise<void> | undefined;
  const need = (what: "kafka" | "redis") => {
    if (!wanted.includes(what)) throw new Error(`these isolated services have no ${what}`);
  };
  // Kills and starts still running. A test that timed out during startKafka() leaves the start
  // running; stop() waits for it, so the broker it starts is recorded and stopped, not orphaned
  // (its data directory also changed under the removal: ENOTEMPTY).
  const running = new Set<Promise<string>>();
  const command = async (args: string[]): Promise<void> => {
    const call = services(dir, args);
    running.add(call);
    try {
      await call;
    } finally {
      running.delete(call);
    }
  };
  return {
    brokers: settings.KAFKA_BROKERS ?? "",
    ...(settings.REDIS_URL ? { redisUrl: settings.REDIS_URL } : {}),
    settings,
    dir,
    killKafka: async () => {
      need("kafka");
      await command(["kill-kafka"]);
    },
    startKafka: async () => {
      need("kafka");
      await command(["start-kafka"]);
    },
    killRedis: async () => {
      need("redis");
      await command(["kill-redis"]);
    },
    startRedis: async () => {
      need("redis");
      await command(["start-redis"]);
    },
    stop: () => {
      stopping ??= (async () => {
        try {
          await Promise.allSettled(running);
          // A broker that has no one to hand over to needs no graceful stop: SIGKILL is quicker.
          await services(dir, ["kill-kafka"]).catch(() => {});
          await services(dir, ["down"]);
        } finally {
          live.delete(dir);
          killNow(dir);
        }
      })();
      return stopping;
    },
  };
}
