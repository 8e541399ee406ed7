import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { configFields, envNameFor } from "../../src/config/fields.js";
import { loadConfig, loadConfigWithWarnings, redactConfig, withReference } from "../../src/config/index.js";
import { problemsOf } from "../helpers/config-problems.js";

const root = join(import.meta.dirname, "../../..");
const cli = join(root, "dist/src/cli/main.js");

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "sw-config-")), name);
  writeFileSync(file, text);
  return file;
}

describe("configuration", () => {
  it("has a default for every setting the worker needs", () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.batching.maxBatchSize, 16);
    assert.equal(config.kafka.delivery, "exactly-once");
    assert.equal(config.dedup.onRedisUnavailable, "fail");
    assert.equal(config.input.source, "file");
    assert.deepEqual(config.runtime.executionProviders, ["cpu"]);
  });

  it("describes every field, and names an environment variable for it", () => {
    for (const field of configFields()) {
      assert.ok(field.description.length > 10, `${field.path} needs a description`);
      assert.equal(field.env[0], envNameFor(field.path));
    }
    assert.equal(envNameFor("batching.maxBatchSize"), "SW_BATCHING_MAX_BATCH_SIZE");
  });

  it("rejects a negative batch size with the field's path, the reason and the source", () => {
    const problems = problemsOf(() => loadConfig({ env: {}, flags: { "batching.maxBatchSize": "-1" } }));
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.path, "batching.maxBatchSize");
    assert.match(problems[0]?.reason ?? "", /too small/i);
    assert.equal(problems[0]?.source, "flag --batching.maxBatchSize=-1");
  });

  it("reads the environment, typed by the schema, with aliases for the service URLs", () => {
    const config = loadConfig({
      env: {
        KAFKA_BROKERS: "127.0.0.1:9092, 127.0.0.1:9093",
        SW_KAFKA_SSL_ENABLED: "true",
        SW_BATCHING_MAX_WAIT_MS: "12",
        REDIS_URL: "redis://127.0.0.1:7777",
      },
    });
    assert.deepEqual(config.kafka.brokers, ["127.0.0.1:9092", "127.0.0.1:9093"]);
    assert.equal(config.kafka.ssl.enabled, true);
    assert.equal(config.batching.maxWaitMs, 12);
    assert.equal(config.dedup.redisUrl, "redis://127.0.0.1:7777");
  });

  it("lets flags override the environment, and the environment override the file", () => {
    const file = tempFile("c.yaml", "batching:\n  maxBatchSize: 8\n  maxWaitMs: 40\nkafka:\n  clientId: from-file\n");
    const config = loadConfig({
      file,
      env: { SW_BATCHING_MAX_BATCH_SIZE: "16", SW_KAFKA_CLIENT_ID: "from-env" },
      flags: { "kafka.clientId": "from-flag" },
    });
    assert.equal(config.batching.maxBatchSize, 16);
    assert.equal(config.batching.maxWaitMs, 40);
    assert.equal(config.kafka.clientId, "from-flag");
  });

  it("reads JSON files too, and names the file in a problem", () => {
    const file = tempFile("c.json", JSON.stringify({ batching: { maxWaitMs: -5 } }));
    const problems = problemsOf(() => loadConfig({ file, env: {} }));
    assert.deepEqual(
      problems.map((p) => [p.path, p.source]),
      [["batching.maxWaitMs", `file ${file}`]],
    );
  });

  it("rejects unknown fields in a file, unknown SW_ variables and unknown flags", () => {
    const file = tempFile("c.yaml", "batching:\n  maxBatchSise: 8\n");
    const problems = problemsOf(() =>
      loadConfig({ file, env: { SW_BATCHING_MAX_SIZE: "3", KAFKA_OTHER: "x" }, flags: { "batching.size": "1" } }),
    );
    const paths = problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ["SW_BATCHING_MAX_SIZE", "batching.maxBatchSise", "batching.size"]);
  });

  it("reports every wrong value at once, each with its own reason", () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: { SW_BATCHING_MAX_WAIT_MS: "soon", KAFKA_BROKERS: "127.0.0.1:9092,nohost", SW_KAFKA_DELIVERY: "maybe" },
      }),
    );
    const byPath = new Map(problems.map((p) => [p.path, p]));
    assert.match(byPath.get("batching.maxWaitMs")?.reason ?? "", /expected number/);
    assert.equal(byPath.get("batching.maxWaitMs")?.source, "environment SW_BATCHING_MAX_WAIT_MS=soon");
    assert.match(byPath.get("kafka.brokers.1")?.reason ?? "", /host:port/);
    assert.equal(byPath.get("kafka.brokers.1")?.source, "environment KAFKA_BROKERS=127.0.0.1:9092,nohost");
    assert.match(byPath.get("kafka.delivery")?.reason ?? "", /exactly-once/);
  });

  it("checks fields against each other and says how to fix it", () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {},
        flags: { "kafka.heartbeatIntervalMs": "30000", "batching.maxBatchTokens": "100", "input.source": "kafka" },
      }),
    );
    const byPath = new Map(problems.map((p) => [p.path, p.reason]));
    assert.match(byPath.get("kafka.heartbeatIntervalMs") ?? "", /below kafka.sessionTimeoutMs/);
    assert.match(byPath.get("batching.maxBatchTokens") ?? "", /at least model.maxLength \(512\)/);
    assert.match(byPath.get("kafka.brokers") ?? "", /required when input.source is kafka/);
    assert.match(byPath.get("kafka.inputTopics") ?? "", /at least one topic/);
  });

  it("refuses what the broker would refuse at the join, and a drain longer than a rebalance allows", () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {},
        flags: {
          "kafka.sessionTimeoutMs": "3000",
          "kafka.heartbeatIntervalMs": "1000",
          "kafka.rebalanceTimeoutMs": "10000",
          "kafka.drainTimeoutMs": "10000",
        },
      }),
    );
    const byPath = new Map(problems.map((p) => [p.path, p.reason]));
    assert.match(byPath.get("kafka.sessionTimeoutMs") ?? "", /group\.min\.session\.timeout\.ms/);
    assert.match(byPath.get("kafka.drainTimeoutMs") ?? "", /below kafka\.rebalanceTimeoutMs \(10000\)/);
  });

  it("asks for an admin token when the admin endpoints listen beyond loopback, and never shows it", () => {
    const admin = (flags: Record<string, string>) =>
      loadConfig({ env: {}, flags: { "rollout.adminPort": "9465", ...flags } });
    const byPath = new Map(problemsOf(() => admin({ "rollout.adminHost": "0.0.0.0" })).map((p) => [p.path, p.reason]));
    assert.match(
      byPath.get("rollout.adminToken") ?? "",
      /required when rollout.adminHost \(0\.0\.0\.0\) is not a loopback/,
    );
    assert.match(problemsOf(() => admin({ "rollout.adminToken": "short" }))[0]?.reason ?? "", /at least 16 characters/);
    assert.match(
      problemsOf(() => admin({ "rollout.adminToken": "two words of a token" }))[0]?.reason ?? "",
      /no spaces/,
    );
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) {
      assert.equal(
        admin({ "rollout.adminHost": host }).rollout.adminHost,
        host,
        `${host} is loopback: no token needed`,
      );
    }
    assert.equal(
      loadConfig({ env: {}, flags: { "rollout.adminHost": "0.0.0.0" } }).rollout.adminPort,
      0,
      "disabled: nothing to guard",
    );
    const config = loadConfig({
      env: { SW_ROLLOUT_ADMIN_TOKEN: "tok-0123456789abcdef" },
      flags: { "rollout.adminPort": "9465", "rollout.adminHost": "0.0.0.0" },
    });
    assert.equal(config.rollout.adminToken, "tok-0123456789abcdef");
    assert.ok(!JSON.stringify(redactConfig(config)).includes("tok-0123456789abcdef"));
  });

  it("never shows a secret, in errors or in the printed configuration", () => {
    const problems = problemsOf(() =>
      loadConfig({ env: { SW_KAFKA_SASL_PASSWORD: "hunter2", SW_KAFKA_SASL_MECHANISM: "md5" } }),
    );
    assert.ok(!JSON.stringify(problems).includes("hunter2"));
    const config = loadConfig({
      env: { REDIS_URL: "redis://user:pw-123@127.0.0.1:6379/0" },
      flags: { "kafka.sasl.mechanism": "plain", "kafka.sasl.username": "u", "kafka.sasl.password": "hunter2" },
    });
    const shown = JSON.stringify(redactConfig(config));
    assert.ok(!shown.includes("hunter2") && !shown.includes("pw-123"), shown);
    assert.match(shown, /redis:\/\/user:\*\*\*@127\.0\.0\.1:6379\/0/);
    assert.equal(config.kafka.sasl.password, "hunter2", "redaction must not touch the live configuration");
  });

  it("masks credentials in the query of a URL, and the password of every URL secret", () => {
    const config = loadConfig({
      env: {
        REDIS_URL: "redis://127.0.0.1:6379/0?password=qp-secret-1&db=2&sentinelPassword=qp-secret-2&family=6",
        SW_TELEMETRY_OTLP_ENDPOINT: "https://u:otlp-pw@otel.example:4318/?API_KEY=qp-secret-3&Token=qp-secret-4",
      },
    });
    const printed = redactConfig(config);
    const shown = JSON.stringify(printed);
    for (const secret of ["qp-secret", "otlp-pw"]) assert.ok(!shown.includes(secret), shown);
    assert.equal(
      printed.dedup.redisUrl,
      "redis://127.0.0.1:6379/0?password=***&db=2&sentinelPassword=***&family=6",
      "other parameters stay as they were",
    );
    assert.equal(printed.telemetry.otlpEndpoint, "https://u:***@otel.example:4318/?API_KEY=***&Token=***");
    assert.match(config.dedup.redisUrl, /qp-secret-1/, "redaction must not touch the live configuration");
  });

  it("warns when a secret is given as a flag, naming the flag and the environment variable", () => {
    const { warnings } = loadConfigWithWarnings({
      env: {},
      flags: {
        "kafka.sasl.mechanism": "plain",
        "kafka.sasl.username": "u",
        "kafka.sasl.password": "hunter2",
        "dedup.redisUrl": "redis://127.0.0.1:6379?password=hunter3",
      },
    });
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.match(
      warnings[0] ?? "",
      /--kafka\.sasl\.password .*process list.*SW_KAFKA_SASL_PASSWORD.*configuration file/,
    );
    assert.match(warnings[1] ?? "", /--dedup\.redisUrl .*SW_DEDUP_REDIS_URL/);
    assert.ok(!warnings.join("").includes("hunter"), "a warning never shows the secret");
  });

  it("does not warn for a secret from the environment, or a URL flag without a credential", () => {
    const { warnings } = loadConfigWithWarnings({
      env: { SW_KAFKA_SASL_PASSWORD: "hunter2", SW_KAFKA_SASL_MECHANISM: "plain", SW_KAFKA_SASL_USERNAME: "u" },
      flags: { "dedup.redisUrl": "redis://127.0.0.1:6379/1", "kafka.clientId": "c" },
    });
    assert.deepEqual(warnings, []);
  });

  it("keeps docs/configuration.md's configuration reference in step with the schema", () => {
    const page = readFileSync(join(root, "docs/configuration.md"), "utf8");
    assert.ok(page === withReference(page), "docs/configuration.md's reference is stale: run `npm run docs`");
  });
});

describe("sentiment-worker config", () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [cli, "config", ...args], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", ...env },
    });

  it("prints the effective configuration, secrets redacted", () => {
    const result = run(["--json", "--kafka.sasl.mechanism", "plain", "--kafka.sasl.username", "u"], {
      SW_KAFKA_SASL_PASSWORD: "hunter2",
    });
    assert.equal(result.status, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as { kafka: { sasl: { password: string } } };
    assert.equal(printed.kafka.sasl.password, "***");
  });

  it("masks a Redis password given as a query parameter", () => {
    const result = run(["--json"], { REDIS_URL: "redis://127.0.0.1:6379?password=qp-hunter2" });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!result.stdout.includes("qp-hunter2"), result.stdout);
    const printed = JSON.parse(result.stdout) as { dedup: { redisUrl: string } };
    assert.equal(printed.dedup.redisUrl, "redis://127.0.0.1:6379?password=***");
  });

  it("warns on stderr about a secret given as a flag, and not about one from the environment", () => {
    const flag = run(["--kafka.sasl.mechanism", "plain", "--kafka.sasl.username", "u", "--kafka.sasl.password", "pw1"]);
    assert.equal(flag.status, 0, flag.stderr);
    assert.match(
      flag.stderr,
      /^sentiment-worker: warning: --kafka\.sasl\.password on the command line .*SW_KAFKA_SASL_PASSWORD/m,
    );
    assert.ok(!flag.stderr.includes("pw1"));
    const env = run(["--kafka.sasl.mechanism", "plain", "--kafka.sasl.username", "u"], {
      SW_KAFKA_SASL_PASSWORD: "pw1",
    });
    assert.equal(env.status, 0, env.stderr);
    assert.equal(env.stderr, "");
  });

  it("exits non-zero on a negative batch size, naming the field and the reason", () => {
    const result = run(["--batching.maxBatchSize", "-1"]);
    assert.equal(result.status, 78);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /batching\.maxBatchSize: Too small: expected number to be >0 \(from flag --batching\.maxBatchSize=-1\)/,
    );
  });

  it("names the line and column of a syntax error in a JSON or YAML file, never the line itself", () => {
    const cases = [
      {
        name: "sw.json",
        text: '{"kafka":{"sasl":{"mechanism":"plain","username":"u","password":"SECRETjson"}} x\n',
        at: "line 1, column 80",
      },
      { name: "sw.yaml", text: "kafka:\n  sasl:\n    password: SECRETyaml\n   bad: [x\n", at: "line 4, column 1" },
      { name: "sw.yml", text: "kafka:\n  sasl:\n    password: 'SECRETquote\n", at: "line 4, column 1" },
    ];
    for (const { name, text, at } of cases) {
      const file = tempFile(name, text);
      const result = run(["--config", file]);
      assert.equal(result.status, 78, `${name}: ${result.stderr}`);
      assert.equal(result.stdout, "");
      assert.ok(!/SECRET/.test(result.stderr), `${name} leaked its line: ${result.stderr}`);
      assert.ok(
        result.stderr.includes(`cannot parse configuration file: ${at}: `) && result.stderr.includes(`(from ${file})`),
        `${name}: ${result.stderr}`,
      );
    }
  });

  it("tells of a YAML warning by line and column, without the line", () => {
    const file = tempFile("sw.yaml", "kafka:\n  clientId: !!foo SECRETtag\n");
    const result = run(["--config", file]);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!result.stderr.includes("SECRET"), result.stderr);
    assert.match(result.stderr, /warning: configuration file .*sw\.yaml: line 2, column 13: .*TAG_RESOLVE_FAILED/);
  });

  it("rejects a configuration file that does not exist", () => {
    const result = run(["--config", "/nonexistent/sw.yaml"]);
    assert.equal(result.status, 78);
    assert.match(result.stderr, /cannot read configuration file: ENOENT.*\(from \/nonexistent\/sw\.yaml\)/);
  });
});
