/**
 * The client's security settings against a real broker: SASL PLAIN, SCRAM-SHA-256 and
 * SCRAM-SHA-512, and TLS with the broker's CA; refused credentials and an untrusted certificate
 * stop start-up naming the setting. `scripts/services.mjs` starts the broker with these listeners
 * (KAFKA_SASL_BROKERS, KAFKA_TLS_BROKERS); elsewhere (Testcontainers) the tests are skipped.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Config, loadConfig } from "../../src/config/index.js";
import { ConfigError } from "../../src/errors/errors.js";
import { startWorker } from "../../src/pipeline/live-worker.js";
import { REPO_ROOT, TINY_MODEL_DIR, tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import type { TestServices } from "../helpers/services.js";

const env = process.env;
const secured = env.KAFKA_SASL_BROKERS && env.KAFKA_TLS_BROKERS && env.KAFKA_TLS_CA;
const skip = secured ? false : "the broker has no SASL/TLS listeners (scripts/services.mjs starts them)";
const texts = tinyTexts();

let services: TestServices;
let client: KafkaTestClient;

openForFile((opened) => {
  ({ services, client } = opened);
});

const sasl = (mechanism: string, password = env.KAFKA_SASL_PASSWORD ?? "") => ({
  "kafka.brokers": env.KAFKA_SASL_BROKERS ?? "",
  "kafka.sasl.mechanism": mechanism,
  "kafka.sasl.username": env.KAFKA_SASL_USERNAME ?? "",
  "kafka.sasl.password": password,
});
const tls = (caFile = env.KAFKA_TLS_CA ?? "") => ({
  "kafka.brokers": env.KAFKA_TLS_BROKERS ?? "",
  "kafka.ssl.enabled": "true",
  ...(caFile ? { "kafka.ssl.caFile": caFile } : {}),
});

async function configFor(security: Record<string, string>): Promise<{ config: Config; input: string; output: string }> {
  const input = await client.createTopic("posts", 2);
  const output = await client.createTopic("sentiment", 1);
  const config = loadConfig({
    env: {},
    flags: {
      "input.source": "kafka",
      "kafka.inputTopics": input,
      "kafka.outputTopic": output,
      "kafka.deadLetterTopic": await client.createTopic("dead-letters", 1),
      "kafka.groupId": uniqueName("worker"),
      "dedup.redisUrl": services.redisUrl,
      "dedup.keyPrefix": `${uniqueName("seen")}:`,
      "model.dir": TINY_MODEL_DIR,
      "runtime.intraOpThreads": "1",
      "telemetry.httpPort": "0",
      "telemetry.logLevel": "warn",
      ...security,
    },
  });
  return { config, input, output };
}

describe("Kafka security settings against a real broker", { skip }, () => {
  for (const [name, security] of [
    ["SASL PLAIN", sasl("plain")],
    ["SASL SCRAM-SHA-256", sasl("scram-sha-256")],
    ["SASL SCRAM-SHA-512", sasl("scram-sha-512")],
    ["TLS with the broker's CA", tls()],
  ] as const) {
    it(`tags messages exactly once over ${name}`, async () => {
      const { config, input, output } = await configFor(security);
      await client.produce(
        input,
        texts.slice(0, 20).map((text, i) => ({ key: `k${i % 3}`, value: JSON.stringify({ id: `s-${i}`, text }) })),
      );
      const worker = await startWorker(config);
      try {
        await client.waitForGroupAtEnd(config.kafka.groupId, input);
        const ids = (await client.readAll(output, { count: 20 })).map((r) => JSON.parse(String(r.value)).id);
        assert.equal(ids.length, 20);
        assert.equal(new Set(ids).size, 20);
      } finally {
        await worker.stop();
      }
    });
  }

  it("stops start-up naming kafka.sasl when the broker refuses the credentials", async () => {
    const { config } = await configFor(sasl("scram-sha-512", "wrong-password"));
    await assert.rejects(startWorker(config), (error: Error) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, /kafka\.sasl: the broker refused user sw-test/);
      return true;
    });
  });

  it("stops start-up naming kafka.ssl when the broker's certificate is not trusted, from the CLI with exit 78", async () => {
    const { config } = await configFor(tls(""));
    const flags = {
      "input.source": "kafka",
      "kafka.brokers": config.kafka.brokers.join(","),
      "kafka.ssl.enabled": "true",
      "kafka.inputTopics": config.kafka.inputTopics.join(","),
      "kafka.outputTopic": config.kafka.outputTopic,
      "kafka.deadLetterTopic": config.kafka.deadLetterTopic,
      "model.dir": TINY_MODEL_DIR,
      "dedup.enabled": "false",
      "telemetry.httpPort": "0",
    };
    const result = spawnSync(
      process.execPath,
      [join(REPO_ROOT, "dist/src/cli/main.js"), "run", ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v])],
      { encoding: "utf8", timeout: 60_000, env: { PATH: env.PATH ?? "" } },
    );
    assert.equal(result.status, 78, result.stderr);
    assert.match(
      result.stderr,
      /kafka\.ssl: the brokers' TLS certificate is not trusted \(.*self-signed.*\); set kafka\.ssl\.caFile/,
    );
  });
});
