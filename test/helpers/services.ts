/**
 * Finds the Kafka broker and Redis server for integration tests: `KAFKA_BROKERS` / `REDIS_URL`
 * when set; else Testcontainers when a Docker engine answers; else an error naming the script that
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
  "or start a Docker engine for Testcontainers";

export function servicesFromEnv(env: NodeJS.ProcessEnv = process.env): TestServices | undefined {
  const brokers = env.KAFKA_BROKERS?.split(",")
    .map((b) => b.trim())
    .filter(Boolean);
  if (!brokers?.length || !env.REDIS_URL) return undefined;
  return { kafkaBrokers: brokers, redisUrl: env.REDIS_URL, stop: async () => {} };
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function servicesFromTestcontainers(): Promise<TestServices> {
  const { KafkaContainer } = await import("@testcontainers/kafka");
  const { RedisContainer } = await import("@testcontainers/redis");
  const [kafka, redis] = await Promise.all([
    new KafkaContainer("confluentinc/cp-kafka:7.9.0").withKraft().start(),
    new RedisContainer("redis:7-alpine").start(),
  ]);
  return {
    kafkaBrokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
    redisUrl: redis.getConnectionUrl(),
    stop: async () => {
      await Promise.all([kafka.stop(), redis.stop()]);
    },
  };
}

export async function testServices(): Promise<TestServices> {
  const fromEnv = servicesFromEnv();
  if (fromEnv) return fromEnv;
  if (await dockerAnswers()) return servicesFromTestcontainers();
  throw new Error(MISSING_SERVICES_MESSAGE);
}
