import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import { ConfigError } from "../../src/errors/errors.js";
import type { SentimentEvent } from "../../src/events/sentiment-event.js";
import type { ProducedRecord, RecordHeaders } from "../../src/kafka/client.js";
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

describe("a producer's own sw-* headers on a dead letter", () => {
  const letter = { code: "EMPTY_TEXT" as const, message: "the text is empty", source };
  const forged = {
    ...original.headers,
    "sw-error-code": "FAKE",
    "sw-truncated": "value",
    "SW-Error-Code": "FAKE2",
    "\u017fw-source-topic": "elsewhere",
    "sw-schema": "sentiment.v1",
    "original-sw-error-code": "EARLIER",
  };
  /** Every header a reader comparing names without case (Java's equalsIgnoreCase) takes for one of ours. */
  const oursAsRead = (headers: RecordHeaders | undefined) =>
    Object.keys(headers ?? {}).filter((name) => name.toUpperCase().startsWith("SW-") || /^sw-/iu.test(name));

  function assertOnlyOurs(message: ProducedRecord, truncated?: string): void {
    const names = oursAsRead(message.headers);
    const expected = Object.values(HEADERS).filter((h) => message.headers?.[h] !== undefined);
    assert.deepEqual(names.sort(), expected.sort(), "every sw-* header is one the worker set");
    assert.equal(message.headers?.[HEADERS.errorCode], "EMPTY_TEXT");
    assert.equal(message.headers?.[HEADERS.sourceTopic], "posts");
    assert.equal(message.headers?.[HEADERS.truncated], truncated);
    assert.equal(message.headers?.[HEADERS.schema], undefined);
  }

  it("renames them original-sw-*, so every sw-* header is the worker's and the producer's bytes stay", () => {
    const message = deadLetterMessage(letter, { ...original, headers: forged }, "0.1.0");
    assertOnlyOurs(message);
    assert.equal(message.headers?.["original-sw-truncated"], "value");
    assert.equal(message.headers?.["original-SW-Error-Code"], "FAKE2");
    assert.equal(message.headers?.["original-\u017fw-source-topic"], "elsewhere");
    assert.equal(message.headers?.["original-sw-schema"], "sentiment.v1");
    assert.deepEqual(message.headers?.["original-sw-error-code"], ["EARLIER", "FAKE"], "theirs first, both kept");
    assert.equal(message.headers?.["x-app"], original.headers["x-app"]);
    assert.equal(message.headers?.traceparent, original.headers.traceparent);
  });

  it("renames them when the dead letter is cut to fit too, and says only its own cut", () => {
    const big = { ...original, value: Buffer.alloc(8000, 0x7b), headers: { ...forged, "sw-truncated": "key" } };
    const message = deadLetterMessage(letter, big, "0.1.0", 4000);
    assertOnlyOurs(message, "value");
    assert.equal(message.headers?.["original-sw-truncated"], "key");
    assert.ok((message.value as Buffer).length < 4000);
  });

  it("keeps a record's headers as they are when none is named sw-, a __proto__ one included", () => {
    const headers = JSON.parse('{"__proto__":"p","x-a":"1"}') as RecordHeaders;
    assert.deepEqual(
      Object.keys(deadLetterMessage(letter, { ...original, headers }, "0.1.0").headers ?? {}).slice(0, 2),
      ["__proto__", "x-a"],
    );
    const cut = deadLetterMessage(letter, { ...original, value: Buffer.alloc(8000), headers }, "0.1.0", 4000);
    assert.ok(Object.hasOwn(cut.headers ?? {}, "__proto__"), "a cut dead letter keeps it as a header");
    assert.equal(Object.getPrototypeOf(cut.headers), Object.prototype);
    const renamed = deadLetterMessage(letter, { ...original, headers: { ...headers, "Sw-x": "1" } }, "0.1.0");
    assert.ok(Object.hasOwn(renamed.headers ?? {}, "__proto__"));
    assert.equal(renamed.headers?.["original-Sw-x"], "1");
  });

  it("never carries a producer's sw-* header into an event", () => {
    const event = { schema: "sentiment.v1", id: "p1" } as SentimentEvent;
    const message = eventMessage(event, { ...original, headers: forged });
    assert.deepEqual(oursAsRead(message.headers), [HEADERS.schema]);
    assert.equal(message.headers?.[HEADERS.schema], "sentiment.v1");
    assert.deepEqual(Object.keys(message.headers ?? {}).sort(), [HEADERS.schema, "content-type", "traceparent"].sort());
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
