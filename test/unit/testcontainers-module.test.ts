/**
 * `sentiment-worker/testcontainers` without an engine: its settings reach the worker as the same
 * `SW_*` variables src/config reads, and the package's `exports` entry resolves.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { envNameFor as configEnvName, configFields } from "../../src/config/fields.js";
import { loadConfig } from "../../src/config/index.js";
import { configToEnv, envNameFor, mergeConfig } from "../../src/testcontainers/config-env.js";

describe("sentiment-worker/testcontainers", () => {
  it("names every configuration field's variable as src/config does", () => {
    const fields = configFields();
    assert.ok(fields.length > 50, `${fields.length} fields`);
    for (const field of fields) assert.equal(envNameFor(field.path), configEnvName(field.path), field.path);
  });

  it("turns nested settings into variables the worker's configuration loader reads back", () => {
    const env = configToEnv({
      input: { source: "kafka" },
      kafka: { brokers: ["kafka:9092", "kafka-2:9092"], inputTopics: ["posts"], createTopics: true },
      batching: { maxBatchSize: 8 },
      dedup: { redisUrl: "redis://redis:6379" },
    });
    assert.equal(env.SW_KAFKA_BROKERS, "kafka:9092,kafka-2:9092");
    const config = loadConfig({ env });
    assert.deepEqual(config.kafka.brokers, ["kafka:9092", "kafka-2:9092"]);
    assert.deepEqual(config.kafka.inputTopics, ["posts"]);
    assert.equal(config.kafka.createTopics, true);
    assert.equal(config.batching.maxBatchSize, 8);
    assert.equal(config.dedup.redisUrl, "redis://redis:6379");
  });

  it("refuses a list item the environment cannot carry, and lets the worker refuse unknown keys", () => {
    assert.throws(() => configToEnv({ kafka: { inputTopics: ["a,b"] } }), /kafka\.inputTopics: "a,b" contains a comma/);
    assert.throws(
      () => loadConfig({ env: configToEnv({ batching: { maxBatchSze: 8 } }) }),
      /SW_BATCHING_MAX_BATCH_SZE/,
    );
  });

  it("merges later settings over earlier ones, key by key", () => {
    const merged = mergeConfig(
      { kafka: { brokers: ["a:1"], groupId: "g" }, batching: { maxBatchSize: 4 } },
      { kafka: { groupId: "h" }, batching: { maxBatchSize: 8 } },
    );
    assert.deepEqual(merged, { kafka: { brokers: ["a:1"], groupId: "h" }, batching: { maxBatchSize: 8 } });
  });

  it("is exported by the package as sentiment-worker/testcontainers, building the worker's environment", async () => {
    const module = await import("sentiment-worker/testcontainers");
    const container = new module.SentimentWorkerContainer("sentiment-worker:test")
      .withKafka("kafka:9092", { inputTopics: ["posts"], groupId: "it" })
      .withRedis("redis://redis:6379")
      .withModel("test/fixtures/models/tiny")
      .withConfig({ batching: { maxBatchSize: 8 } })
      .withConfig({ kafka: { outputTopic: "out" } })
      .withSchemaRegistry("http://registry:8080/apis/ccompat/v7", { format: "protobuf", token: "t0ken" });
    assert.deepEqual(container.getEnvironment(), {
      SW_KAFKA_BROKERS: "kafka:9092",
      SW_KAFKA_INPUT_TOPICS: "posts",
      SW_KAFKA_GROUP_ID: "it",
      SW_KAFKA_OUTPUT_TOPIC: "out",
      SW_DEDUP_REDIS_URL: "redis://redis:6379",
      SW_MODEL_DIR: module.MODEL_MOUNT,
      SW_BATCHING_MAX_BATCH_SIZE: "8",
      SW_INPUT_FORMAT: "protobuf",
      SW_INPUT_SCHEMA_REGISTRY_URL: "http://registry:8080/apis/ccompat/v7",
      SW_INPUT_SCHEMA_REGISTRY_TOKEN: "t0ken",
    });
    assert.equal(module.METRICS_PORT, 9464);
    assert.match(module.SENTIMENT_WORKER_IMAGE, /^sentiment-worker:\d+\.\d+\.\d+/);
  });
});
