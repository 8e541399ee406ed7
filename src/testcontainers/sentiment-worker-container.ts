/**
 * The worker as a Testcontainers module, in the style of `@testcontainers/kafka`: a
 * GenericContainer with builder methods for what the worker needs, started when `/readyz` says
 * ready, with a started handle that knows the metrics port and the effective settings.
 * It imports nothing of the worker itself: only `testcontainers` (a peer dependency) and Node.
 */
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { AbstractStartedContainer, GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { type ConfigObject, configToEnv, mergeConfig } from "./config-env.js";

const { version } = createRequire(import.meta.url)("../../../package.json") as { version: string };

/** The image `docker build -t sentiment-worker:<version> .` (or scripts/containers.mjs) makes. */
export const SENTIMENT_WORKER_IMAGE = `sentiment-worker:${version}`;
/** `telemetry.httpPort`'s default: /metrics, /healthz and /readyz. */
export const METRICS_PORT = 9464;
/** Where `withModel` mounts the model directory inside the container. */
export const MODEL_MOUNT = "/models";
/** How long `stop()` and `restart()` wait after SIGTERM before SIGKILL: time to finish a chunk. */
export const STOP_GRACE_MS = 30_000;
// Loading the model and joining the group; a cold JIT on a busy 2-core machine takes tens of seconds.
const STARTUP_TIMEOUT_MS = 120_000;

export class SentimentWorkerContainer extends GenericContainer {
  private config: ConfigObject = {};
  private modelDir: string | undefined;

  constructor(image: string = SENTIMENT_WORKER_IMAGE) {
    super(image);
    this.withExposedPorts(METRICS_PORT)
      .withWaitStrategy(Wait.forHttp("/readyz", METRICS_PORT).forStatusCode(200))
      .withStartupTimeout(STARTUP_TIMEOUT_MS);
    // As in production (the Helm chart): nothing outside the image's volumes is writable.
    this.hostConfig.ReadonlyRootfs = true;
  }

  /**
   * The Kafka bootstrap servers *as the worker's container reaches them*: usually a network alias
   * on the network shared with the broker (`kafka:9092`), never the host's mapped port.
   */
  withKafka(
    brokers: string | readonly string[],
    options: { inputTopics?: readonly string[]; groupId?: string } = {},
  ): this {
    const list = typeof brokers === "string" ? brokers.split(",") : [...brokers];
    return this.withConfig({
      kafka: {
        brokers: list,
        ...(options.inputTopics ? { inputTopics: options.inputTopics } : {}),
        ...(options.groupId ? { groupId: options.groupId } : {}),
      },
    });
  }

  /** The de-duplication Redis as the container reaches it, e.g. `redis://redis:6379`. */
  withRedis(url: string): this {
    return this.withConfig({ dedup: { redisUrl: url } });
  }

  /**
   * The schema registry as the container reaches it (its Confluent API, e.g.
   * `http://registry:8081`, or Apicurio's `http://registry:8080/apis/ccompat/v7`), and the format
   * its topics use; `credentials`: basic (`username`, `password`) or bearer (`token`).
   */
  withSchemaRegistry(
    url: string,
    options: {
      format?: "avro" | "protobuf" | "json-schema";
      username?: string;
      password?: string;
      token?: string;
    } = {},
  ): this {
    const { format = "avro", ...credentials } = options;
    return this.withConfig({ input: { format, schemaRegistry: { url, ...credentials } } });
  }

  /**
   * An exported model directory on this machine (config.json, tokenizer.json, onnx/…), mounted
   * read-only; the worker then never contacts the Hugging Face hub. The engine must see this
   * machine's files (a local Docker or podman); for a remote engine, copy the files instead.
   */
  withModel(dir: string): this {
    this.modelDir = resolve(dir);
    return this.withConfig({ model: { dir: MODEL_MOUNT } });
  }

  /**
   * Any settings, nested as in a configuration file (`{ batching: { maxBatchSize: 8 } }`); merged
   * with earlier calls, later calls win. They reach the worker as `SW_*` environment variables.
   */
  withConfig(config: ConfigObject): this {
    this.config = mergeConfig(this.config, config);
    return this;
  }

  /** The settings given so far, as the `SW_*` variables the container will get. */
  getEnvironment(): Record<string, string> {
    return { ...this.environment, ...configToEnv(this.config) };
  }

  protected override async beforeContainerCreated(): Promise<void> {
    this.withEnvironment(configToEnv(this.config));
    // Added here, not in withModel: withBindMounts replaces the list, so a user's own call keeps it.
    if (this.modelDir) {
      this.hostConfig.Binds = [...(this.hostConfig.Binds ?? []), `${this.modelDir}:${MODEL_MOUNT}:ro`];
    }
  }

  override async start(): Promise<StartedSentimentWorkerContainer> {
    return new StartedSentimentWorkerContainer(await super.start());
  }
}

export class StartedSentimentWorkerContainer extends AbstractStartedContainer {
  /** The host port of /metrics, /healthz and /readyz. */
  getMetricsPort(): number {
    return this.getMappedPort(METRICS_PORT);
  }

  /** `http://<host>:<port>/metrics` (Prometheus text). */
  getMetricsUrl(): string {
    return this.getHttpUrl("/metrics");
  }

  /** A URL on the worker's HTTP port, e.g. `getHttpUrl("/readyz")`. */
  getHttpUrl(path: string): string {
    return `http://${this.getHost()}:${this.getMetricsPort()}${path}`;
  }

  /**
   * The configuration the worker actually runs with (defaults, image and your settings merged,
   * secrets redacted), as `sentiment-worker config --json` prints it inside the container.
   */
  async getSettings(): Promise<Record<string, unknown>> {
    const result = await this.exec(["sentiment-worker", "config", "--json"]);
    if (result.exitCode !== 0) {
      throw new Error(`sentiment-worker config exited ${result.exitCode}: ${result.stderr || result.output}`);
    }
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  /** SIGTERM, then up to STOP_GRACE_MS for the worker to commit its chunk in flight (not 0 s). */
  override stop(options: Parameters<StartedTestContainer["stop"]>[0] = {}) {
    return super.stop({ timeout: STOP_GRACE_MS, ...options });
  }

  /** The same container stopped gracefully and started again; waits for /readyz once more. */
  override restart(options: Parameters<StartedTestContainer["restart"]>[0] = {}) {
    return super.restart({ timeout: STOP_GRACE_MS, ...options });
  }
}
