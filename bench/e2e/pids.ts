/**
 * The broker's and Redis's process ids, to read their CPU by id: from `--broker-pid` /
 * `--redis-pid`, else from the state file of `scripts/services.mjs` (SWDEV_SERVICES_DIR or
 * .cache/services) when its ports are the ones the benchmark talks to.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface ServicesState {
  kafka?: { pid?: number; port?: number };
  redis?: { pid?: number; port?: number };
}

export function servicePids(
  root: string,
  brokers: readonly string[],
  redisUrl: string,
  given: { broker?: string | undefined; redis?: string | undefined },
): Record<string, number> {
  let state: ServicesState = {};
  try {
    const dir = process.env.SWDEV_SERVICES_DIR || join(root, ".cache/services");
    state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as ServicesState;
  } catch {
    // No local services: only the pids given count.
  }
  const brokerPorts = brokers.map((b) => Number(b.split(":").at(-1)));
  const redisPort = Number(/:(\d+)/.exec(redisUrl.replace(/^redis:\/\//, ""))?.[1] ?? 6379);
  const pids: Record<string, number> = {};
  const broker = given.broker ? Number(given.broker) : state.kafka?.pid;
  if (broker && (given.broker || brokerPorts.includes(state.kafka?.port ?? -1))) pids.broker = broker;
  const redis = given.redis ? Number(given.redis) : state.redis?.pid;
  if (redis && (given.redis || state.redis?.port === redisPort)) pids.redis = redis;
  return pids;
}
