/**
 * The container tests' engine and local images: podman's (or Docker's) API through
 * Testcontainers, and the Kafka and Redis test images that `node scripts/containers.mjs build` makes
 * (no registry is reachable from the project's machines, so nothing is pulled).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  GenericContainer,
  getContainerRuntimeClient,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import { REPO_ROOT } from "./fixtures.js";

const KAFKA_VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(
  readFileSync(join(REPO_ROOT, "scripts/kafka/pom.xml"), "utf8"),
)?.[1];
const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };

/** The names scripts/containers.mjs gives its images. */
export const LOCAL_IMAGES = {
  worker: `sentiment-worker:${version}`,
  kafka: `sentiment-worker-test-kafka:${KAFKA_VERSION}`,
  redis: "sentiment-worker-test-redis:bookworm",
} as const;

/**
 * Every container a test starts carries it, with the session of `containers.mjs service up`, so
 * that `service down` removes the leftovers of a crashed run, and only those.
 */
export const TEST_LABEL = { "io.sentiment-worker.test": process.env.SWDEV_CONTAINER_SESSION ?? "true" };

export const HOW_TO_ENABLE =
  "container tests need podman (or Docker) and the local images: `node scripts/containers.mjs build`, " +
  "then `export $(node scripts/containers.mjs service up)` (docs/development.md#containers)";

/**
 * Undefined when an engine answers and has the images; else why the container tests skip.
 * Traffic stays on loopback: TESTCONTAINERS_HOST_OVERRIDE must name it when set.
 */
export async function containerSkipReason(
  images: readonly string[] = Object.values(LOCAL_IMAGES),
): Promise<string | undefined> {
  const override = process.env.TESTCONTAINERS_HOST_OVERRIDE;
  if (override && !["127.0.0.1", "localhost", "::1"].includes(override)) {
    return `TESTCONTAINERS_HOST_OVERRIDE=${override} is not loopback; the container tests reach containers only on loopback`;
  }
  let client: Awaited<ReturnType<typeof getContainerRuntimeClient>>;
  try {
    client = await getContainerRuntimeClient();
  } catch {
    return `no container engine answers: ${HOW_TO_ENABLE}`;
  }
  const host = client.info.containerRuntime.host;
  if (!["127.0.0.1", "localhost", "::1"].includes(host)) {
    return `the engine's containers are reached at ${host}, not loopback: set TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1`;
  }
  for (const image of images) {
    const { ImageName } = await import("testcontainers");
    if (!(await client.image.exists(ImageName.fromString(image)))) return `image ${image} is missing: ${HOW_TO_ENABLE}`;
  }
  return undefined;
}

/** A free loopback port (the broker must advertise the host port it is published on). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface StartedKafka {
  container: StartedTestContainer;
  /** For clients on the host. */
  brokers: string[];
  /** For containers on `network` (its alias), when one was given. */
  networkBrokers: string[];
}

/**
 * The local Kafka image, one KRaft node. Its host listener is published on the same port number
 * it listens on, because a broker advertises one address per listener and clients on the host
 * must be told the port they can reach; the network listener is advertised as `alias:9092`.
 */
export async function startKafka(options: { network?: StartedNetwork; alias?: string } = {}): Promise<StartedKafka> {
  const client = await getContainerRuntimeClient();
  const host = client.info.containerRuntime.host;
  const port = await freePort();
  const alias = options.alias ?? "kafka";
  let container = new GenericContainer(LOCAL_IMAGES.kafka)
    .withLabels(TEST_LABEL)
    .withEnvironment({ KAFKA_EXTERNAL_HOST: host, KAFKA_EXTERNAL_PORT: String(port), KAFKA_NETWORK_HOST: alias })
    .withExposedPorts({ container: port, host: port })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000);
  if (options.network) container = container.withNetwork(options.network).withNetworkAliases(alias);
  const started = await container.start();
  return { container: started, brokers: [`${host}:${port}`], networkBrokers: [`${alias}:9092`] };
}

export interface StartedRedis {
  container: StartedTestContainer;
  url: string;
  networkUrl: string;
}

/** The local Redis image (Debian's redis-server, no persistence). */
export async function startRedis(options: { network?: StartedNetwork; alias?: string } = {}): Promise<StartedRedis> {
  const alias = options.alias ?? "redis";
  let container = new GenericContainer(LOCAL_IMAGES.redis)
    .withLabels(TEST_LABEL)
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(60_000);
  if (options.network) container = container.withNetwork(options.network).withNetworkAliases(alias);
  const started = await container.start();
  return {
    container: started,
    url: `redis://${started.getHost()}:${started.getMappedPort(6379)}`,
    networkUrl: `redis://${alias}:6379`,
  };
}
