import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { ConfigError } from "../../src/errors/errors.js";
import type { SentimentEvent } from "../../src/events/sentiment-event.js";
import { kafkaClientConfig } from "../../src/kafka/client-config.js";
import { deadLetterMessage, eventMessage, HEADERS } from "../../src/sinks/kafka/records.js";

const source = {
  topic: "posts",
  partition: 3,
  offset: "1042",
  timestamp: "2026-11-27T10:00:00.000Z",
  timestampMs: "1795773600000",
};
const original = {
  key: Buffer.from("user-7"),
  value: Buffer.from([0x7b, 0xff]),
  headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "x-app": Buffer.from("feed") },
};

describe("Kafka records", () => {
  it("keys an event by its input's key and carries the trace context, nothing else", () => {
    const event = { schema: "sentiment.v1", id: "p1" } as SentimentEvent;
    const message = eventMessage(event, original);
    assert.equal(message.key, original.key);
    assert.deepEqual(JSON.parse(String(message.value)), event);
    assert.equal(message.headers?.traceparent, original.headers.traceparent);
    assert.equal(message.headers?.["x-app"], undefined);
    assert.equal(message.headers?.[HEADERS.schema], "sentiment.v1");
  });

  it("keeps a dead letter's original key, bytes and headers, and adds the reason and the source", () => {
    const message = deadLetterMessage({ code: "INVALID_UTF8", message: "not UTF-8", source }, original, "0.1.0");
    assert.equal(message.key, original.key);
    assert.ok(Buffer.isBuffer(message.value) && message.value.equals(original.value));
    assert.equal(message.headers?.["x-app"], original.headers["x-app"]);
    assert.deepEqual(
      [
        HEADERS.errorCode,
        HEADERS.sourceTopic,
        HEADERS.sourcePartition,
        HEADERS.sourceOffset,
        HEADERS.workerVersion,
      ].map((h) => message.headers?.[h]),
      ["INVALID_UTF8", "posts", "3", "1042", "0.1.0"],
    );
  });
});

describe("dead letters of records with many headers", () => {
  const many = Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`h${i}`, Buffer.alloc(0)]));
  const bomb = { key: Buffer.from("k"), value: Buffer.from("{}"), headers: many, headerCount: 30_000 };

  it("go without the original headers, and say how many there were", () => {
    const letter = { code: "TOO_MANY_HEADERS" as const, message: "too many", source };
    for (const maxBytes of [Number.POSITIVE_INFINITY, 1000]) {
      const message = deadLetterMessage(letter, bomb, "0.1.0", maxBytes);
      assert.equal(message.headers?.h0, undefined);
      assert.equal(message.headers?.[HEADERS.truncated], "headers");
      assert.equal(message.headers?.[HEADERS.originalHeaderCount], "30000");
      assert.equal(message.headers?.[HEADERS.errorCode], "TOO_MANY_HEADERS");
      assert.equal(String(message.value), "{}");
    }
    // Cut further to fit: the value too.
    const tight = deadLetterMessage(letter, { ...bomb, value: Buffer.alloc(4000, 0x61) }, "0.1.0", 1000);
    assert.equal(tight.headers?.[HEADERS.truncated], "headers,value");
    // Without a count from the decoder, the headers object's are counted (repeats each time).
    const counted = deadLetterMessage(
      letter,
      { ...bomb, headerCount: undefined, headers: { a: ["1", "2"], b: "3" } },
      "x",
    );
    assert.equal(counted.headers?.[HEADERS.originalHeaderCount], "3");
  });

  it("keep the headers of other codes, a header named __proto__ included, also when cut to fit", () => {
    const headers: Record<string, Buffer> = { "x-app": Buffer.from("feed") };
    Object.defineProperty(headers, "__proto__", { value: Buffer.from("p"), enumerable: true });
    const original = { key: null, value: Buffer.alloc(4000, 0x61), headers, headerCount: 2 };
    const letter = { code: "INVALID_JSON" as const, message: "not JSON", source };
    for (const maxBytes of [Number.POSITIVE_INFINITY, 2000]) {
      const message = deadLetterMessage(letter, original, "0.1.0", maxBytes);
      assert.equal(Object.getPrototypeOf(message.headers), Object.prototype);
      assert.deepEqual(Object.getOwnPropertyDescriptor(message.headers, "__proto__")?.value, Buffer.from("p"));
      assert.deepEqual(message.headers?.["x-app"], Buffer.from("feed"));
      assert.equal(message.headers?.[HEADERS.originalHeaderCount], undefined);
    }
  });
});

describe("Kafka client settings", () => {
  it("passes brokers and client id, and no TLS or SASL by default", () => {
    const config = kafkaClientConfig(loadConfig({ env: { KAFKA_BROKERS: "127.0.0.1:9092" } }).kafka);
    assert.deepEqual(config.brokers, ["127.0.0.1:9092"]);
    assert.equal(config.clientId, "sentiment-worker");
    assert.equal(config.ssl, undefined);
    assert.equal(config.sasl, undefined);
  });

  it("builds SCRAM and mutual TLS from the configuration", () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-tls-"));
    for (const name of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, name), `-----${name}-----`);
    const config = kafkaClientConfig(
      loadConfig({
        env: {},
        flags: {
          "kafka.brokers": "b1:9093",
          "kafka.sasl.mechanism": "scram-sha-512",
          "kafka.sasl.username": "worker",
          "kafka.sasl.password": "s3cret",
          "kafka.ssl.enabled": "true",
          "kafka.ssl.caFile": join(dir, "ca.pem"),
          "kafka.ssl.certFile": join(dir, "cert.pem"),
          "kafka.ssl.keyFile": join(dir, "key.pem"),
        },
      }).kafka,
    );
    assert.deepEqual(config.sasl, { mechanism: "scram-sha-512", username: "worker", password: "s3cret" });
    assert.deepEqual(config.ssl, {
      rejectUnauthorized: true,
      ca: ["-----ca.pem-----"],
      cert: "-----cert.pem-----",
      key: "-----key.pem-----",
    });
  });

  it("names the field when a TLS file cannot be read", () => {
    const kafka = loadConfig({
      env: {},
      flags: { "kafka.ssl.enabled": "true", "kafka.ssl.caFile": "/nonexistent/ca.pem" },
    }).kafka;
    assert.throws(
      () => kafkaClientConfig(kafka),
      (e: unknown) => e instanceof ConfigError && e.problems[0]?.path === "kafka.ssl.caFile",
    );
  });
});
