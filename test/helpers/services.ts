/**
 * Finds the Kafka broker and Redis server for integration tests: `KAFKA_BROKERS` / `REDIS_URL`
 * when set; else Testcontainers with the local images when podman or Docker answers; else an error naming the script that
 * starts them locally. `npm test` sets the variables itself after starting local services.
 */
export interface TestServices {
  kafkaBrokers: string[];
  redisUrl: string;
  /** Stops what this helper started (nothing, when the services came from the environment). */
  stop(): Promise<void>;
}

export const MISSING_SERVICES_MESSAGE =
  "integration tests need Kafka and Redis: set KAFKA_BROKERS and REDIS_URL, or run " +
  "`export $(node scripts/services.mjs up)` to start local ones (`npm test` does this by itself), " +
  "or build the local images and start podman's service for Testcontainers (docs/development.md#containers)";

export function servicesFromEnv(env: NodeJS.ProcessEnv = process.env): TestServices | undefined {
  const brokers = env.KAFKA_BROKERS?.split(",")
    .map((b) => b.trim())
    .filter(Boolean);
  if (!brokers?.length || !env.REDIS_URL) return undefined;
  return { kafkaBrokers: brokers, redisUrl: env.REDIS_URL, stop: async () => {} };
}

async function engineAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/**
 * Kafka and Redis from the local test images (`node scripts/containers.mjs build`; no registry is
 * needed). Imported lazily so that machines without an engine never load Testcontainers.
 */
async function servicesFromTestcontainers(): Promise<TestServices> {
  const { containerSkipReason, LOCAL_IMAGES, startKafka, startRedis } = await import("./containers.js");
  const missing = await containerSkipReason([LOCAL_IMAGES.kafka, LOCAL_IMAGES.redis]);
  if (missing) throw new Error(`${MISSING_SERVICES_MESSAGE} (${missing})`);
  const [kafka, redis] = await Promise.all([startKafka(), startRedis()]);
  return {
    kafkaBrokers: kafka.brokers,
    redisUrl: redis.url,
    stop: async () => {
      await Promise.all([kafka.container.stop(), redis.container.stop()]);
    },
  };
}

export async function testServices(): Promise<TestServices> {
  const fromEnv = servicesFromEnv();
  if (fromEnv) return fromEnv;
  if (await engineAnswers()) return servicesFromTestcontainers();
  throw new Error(MISSING_SERVICES_MESSAGE);
}
