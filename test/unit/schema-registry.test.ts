/**
 * Registry formats without a registry: Confluent's wire format (header, Protobuf message indexes),
 * decoding Avro, Protobuf and JSON Schema payloads with their schemas into the same messages as
 * JSON, a dead letter of its own for each fault of a record, and the schema cache and its wait:
 * one lookup per id, an unreachable registry held (readiness false) and never a dead letter.
 * test/integration/schema-registry.test.ts runs the same against the real registry and broker.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import avro from "avsc";
import { LosslessNumber } from "lossless-json";
import protobuf from "protobufjs";
import { loadConfig } from "../../src/config/index.js";
import { ConfigError, SchemaRegistryUnavailableError } from "../../src/errors/errors.js";
import type { SourceCoordinates } from "../../src/events/dead-letter.js";
import { AvroEventWriter, sentimentEventAvroSchema } from "../../src/events/sentiment-avro.js";
import { sentimentEventSchema } from "../../src/events/sentiment-event.js";
import { serializeEvent } from "../../src/events/serialize-event.js";
import { buildEvent } from "../../src/pipeline/build-event.js";
import { type Decoded, type DecodedMessage, decodeRecord } from "../../src/pipeline/decode.js";
import { chunkSchemaIds, resolveSchemas } from "../../src/pipeline/stages/resolve-schemas.js";
import type {
  RegisteredSchema,
  SchemaLookup,
  SchemaRegistryClient,
} from "../../src/schema-registry/registry-client.js";
import { type ChunkSchemas, SchemaCache } from "../../src/schema-registry/schema-cache.js";
import { protobufMessageIndexes, wireSchemaId } from "../../src/schema-registry/wire-format.js";

const base = loadConfig({ env: {} }).input;
type InputOptions = typeof base;
const source: SourceCoordinates = {
  topic: "posts",
  partition: 0,
  offset: "7",
  timestamp: "2026-11-27T10:00:00.000Z",
  timestampMs: "1795773600000",
};

const AVRO_POST = {
  type: "record",
  name: "Post",
  namespace: "feed",
  fields: [
    { name: "id", type: "long" },
    { name: "body", type: { type: "record", name: "Body", fields: [{ name: "text", type: "string" }] } },
    { name: "raw", type: "bytes" },
    { name: "lang", type: ["null", "string"], default: null },
  ],
};
const PROTO_POST = `syntax = "proto3";
package feed.v1;
message Other { string x = 1; }
message Post {
  message Body { string text = 1; }
  string post_id = 1;
  Body body = 2;
  int64 likes = 3;
  enum Kind { KIND_UNSPECIFIED = 0; REPLY = 1; }
  Kind kind = 4;
}
`;

/** A value in the wire format: magic byte, id, then (Protobuf) the indexes and the payload. */
function wire(id: number, payload: Uint8Array, indexes?: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, indexes ?? Buffer.alloc(0), payload]);
}

const found = (schema: RegisteredSchema): SchemaLookup => ({ found: true, schema });
const avroSchema = (schema: object): RegisteredSchema => ({
  schemaType: "AVRO",
  schema: JSON.stringify(schema),
  references: [],
});
const protoSchema = (text: string): RegisteredSchema => ({ schemaType: "PROTOBUF", schema: text, references: [] });

function decode(value: Buffer | null, options: Partial<InputOptions>, schemas: ChunkSchemas): Decoded {
  return decodeRecord({ key: null, value, source }, { ...base, ...options }, schemas);
}
function message(decoded: Decoded): DecodedMessage {
  assert.equal(decoded.kind, "message", JSON.stringify(decoded));
  return decoded as DecodedMessage;
}
function deadCode(decoded: Decoded): string {
  assert.equal(decoded.kind, "dead", JSON.stringify(decoded));
  return (decoded as { code: string }).code;
}

describe("the wire format", () => {
  it("reads the schema id after the zero magic byte, and nothing from a value without them", () => {
    assert.equal(wireSchemaId(wire(0xfedcba98, Buffer.from("x"))), 0xfedcba98);
    assert.equal(wireSchemaId(Buffer.from([1, 0, 0, 0, 7])), undefined);
    assert.equal(wireSchemaId(Buffer.from([0, 0, 0, 7])), undefined);
    assert.equal(wireSchemaId(null), undefined);
    assert.deepEqual(
      chunkSchemaIds([
        { offset: "0", key: null, value: wire(3, Buffer.alloc(0)), timestamp: "0" },
        { offset: "1", key: null, value: wire(3, Buffer.alloc(0)), timestamp: "0" },
        { offset: "2", key: null, value: Buffer.from("{}"), timestamp: "0" },
        { offset: "3", key: null, value: wire(9, Buffer.alloc(0)), timestamp: "0" },
      ]),
      new Set([3, 9]),
    );
  });

  it("reads Protobuf message indexes: a single 0 for the first message, else a count and zig-zag indexes", () => {
    assert.deepEqual(protobufMessageIndexes(Buffer.from([0, 0, 0, 0, 1, 0, 0x0a])), { indexes: [0], start: 6 });
    // Count 2 (zig-zag 4), indexes 1 (2) and 0 (0).
    assert.deepEqual(protobufMessageIndexes(Buffer.from([0, 0, 0, 0, 1, 4, 2, 0, 0x0a])), {
      indexes: [1, 0],
      start: 8,
    });
    assert.throws(() => protobufMessageIndexes(Buffer.from([0, 0, 0, 0, 1, 4, 2])), /end before/);
  });
});

describe("decoding registry formats", () => {
  const avroType = avro.Type.forSchema(AVRO_POST as avro.Schema);
  const avroValue = (id: number) =>
    wire(7, avroType.toBuffer({ id, body: { text: "Ótimo dia!" }, raw: Buffer.from([1, 2, 3]), lang: "pt" }));
  const avroSchemas: ChunkSchemas = new Map([[7, found(avroSchema(AVRO_POST))]]);
  const avroOptions = { format: "avro", textField: "body.text", passthrough: true } as const;

  it("Avro: text from a nested field, a long id exactly, a nullable union's value as the language", () => {
    const decoded = message(decode(avroValue(1234), avroOptions, avroSchemas));
    assert.equal(decoded.text, "Ótimo dia!");
    assert.equal(decoded.id, "1234");
    assert.equal(decoded.lang, "pt");
    assert.deepEqual(decoded.input, { id: 1234, body: { text: "Ótimo dia!" }, raw: "AQID", lang: "pt" });
  });

  it("Avro: a long past 2^53 keeps its digits as the id and in the event's input", () => {
    const big = avro.types.LongType.__with({
      fromBuffer: (b: Buffer) => b.readBigInt64LE(),
      toBuffer: (n: bigint) => {
        const b = Buffer.alloc(8);
        b.writeBigInt64LE(n);
        return b;
      },
      fromJSON: BigInt,
      toJSON: Number,
      isValid: (n: unknown) => typeof n === "bigint",
      compare: () => 0,
    });
    const writer = avro.Type.forSchema(AVRO_POST as avro.Schema, { registry: { long: big as unknown as avro.Type } });
    const value = wire(
      7,
      writer.toBuffer({ id: 9007199254740993n, body: { text: "big" }, raw: Buffer.alloc(0), lang: null }),
    );
    const decoded = message(decode(value, avroOptions, avroSchemas));
    assert.equal(decoded.id, "9007199254740993");
    const event = buildEvent(
      decoded,
      source,
      { label: "neutral", score: 1, scores: { negative: 0, neutral: 1, positive: 0 }, truncated: false, tokens: 3 },
      { name: "m", revision: "r" },
      new Date(0),
    );
    assert.match(serializeEvent(event), /"input":\{"id":9007199254740993,/);
  });

  it("Protobuf: the message the indexes name (nested text, int64 and enum as text, snake_case names)", () => {
    const root = protobuf.parse(PROTO_POST, { keepCase: true }).root;
    const Post = root.lookupType("feed.v1.Post");
    const payload = Post.encode(
      Post.fromObject({ post_id: "p-1", body: { text: "Great launch" }, likes: "9007199254740993", kind: 1 }),
    ).finish();
    // Post is the file's second message: indexes [1] (count 1 → zig-zag 2, index 1 → 2).
    const value = wire(8, payload, Buffer.from([2, 2]));
    const schemas: ChunkSchemas = new Map([[8, found(protoSchema(PROTO_POST))]]);
    const decoded = message(
      decode(value, { format: "protobuf", textField: "body.text", idField: "post_id", passthrough: true }, schemas),
    );
    assert.equal(decoded.id, "p-1");
    assert.equal(decoded.text, "Great launch");
    assert.deepEqual(decoded.input, {
      post_id: "p-1",
      body: { text: "Great launch" },
      likes: "9007199254740993",
      kind: "REPLY",
    });
    // Index [0] is Other, which has no body: the same bytes decode, but without the text.
    assert.equal(
      deadCode(decode(wire(8, payload, Buffer.from([0])), { format: "protobuf", textField: "body.text" }, schemas)),
      "SCHEMA",
    );
  });

  it("JSON Schema: the payload after the header is JSON, read as exactly as JSON", () => {
    const value = wire(11, Buffer.from('{"id": 12345678901234567890, "text": "ok"}'));
    const schemas: ChunkSchemas = new Map([[11, found({ schemaType: "JSON", schema: "{}", references: [] })]]);
    assert.equal(message(decode(value, { format: "json-schema" }, schemas)).id, "12345678901234567890");
  });

  it("a record's own faults are dead letters with their own codes", () => {
    const cases: Array<[string, Buffer, ChunkSchemas]> = [
      // JSON where Avro is expected: no magic byte.
      ["NO_MAGIC_BYTE", Buffer.from('{"text":"hi"}'), avroSchemas],
      ["NO_MAGIC_BYTE", Buffer.from([0, 0, 7]), avroSchemas],
      ["SCHEMA_NOT_FOUND", avroValue(1), new Map([[7, { found: false, message: "no schema with id 7" }]])],
      ["SCHEMA_NOT_FOUND", avroValue(1), new Map()],
      // Truncated, and with bytes after the record.
      ["INVALID_PAYLOAD", avroValue(1).subarray(0, 9), avroSchemas],
      ["INVALID_PAYLOAD", Buffer.concat([avroValue(1), Buffer.from([1])]), avroSchemas],
      // A Protobuf schema where Avro is read (ids are parsed once per process: another id each).
      ["INVALID_PAYLOAD", wire(70, Buffer.alloc(3)), new Map([[70, found(protoSchema(PROTO_POST))]])],
      // A schema avsc refuses: each of its records says why.
      [
        "INVALID_PAYLOAD",
        wire(71, Buffer.alloc(3)),
        new Map([[71, found({ schemaType: "AVRO", schema: "{", references: [] })]]),
      ],
    ];
    for (const [code, value, schemas] of cases) {
      assert.equal(deadCode(decode(value, avroOptions, schemas)), code, value.toString("hex"));
    }
    assert.equal(decode(null, avroOptions, avroSchemas).kind, "tombstone");
  });
});

/** A registry client that only looks schemas up as `client` says. */
const fakeRegistry = (client: Pick<SchemaRegistryClient, "schemaById">) => ({
  ...client,
  register: async () => assert.fail("nothing is registered here"),
});

describe("the schema cache", () => {
  const schema = avroSchema(AVRO_POST);

  it("asks the registry once per id, however many chunks name it at once", async () => {
    const asked: number[] = [];
    const cache = new SchemaCache(
      fakeRegistry({
        schemaById: async (id) => {
          asked.push(id);
          await new Promise((r) => setTimeout(r, 10));
          return id === 404 ? { found: false, message: "none" } : found(schema);
        },
      }),
    );
    const [a, b] = await Promise.all([cache.lookup([1, 2, 404]), cache.lookup([2, 1])]);
    await cache.lookup([1, 2, 404]);
    assert.deepEqual(asked.sort(), [1, 2, 404]);
    assert.equal(a.get(1)?.found, true);
    assert.equal(a.get(404)?.found, false);
    assert.equal(b.size, 2);
  });

  it("asks again for a missing id once its time is up", async () => {
    let now = 0;
    let calls = 0;
    const cache = new SchemaCache(
      fakeRegistry({
        schemaById: async () => {
          calls++;
          return { found: false, message: "none" };
        },
      }),
      1000,
      () => now,
    );
    await cache.lookup([5]);
    await cache.lookup([5]);
    now = 1001;
    await cache.lookup([5]);
    assert.equal(calls, 2);
  });

  it("holds a chunk while the registry does not answer (readiness false), then goes on; gives up on request", async () => {
    let down = 2;
    const ready: boolean[] = [];
    const cache = new SchemaCache(
      fakeRegistry({
        schemaById: async () => {
          if (down-- > 0) throw new SchemaRegistryUnavailableError("connect ECONNREFUSED");
          return found(schema);
        },
      }),
    );
    const records = [{ offset: "0", key: null, value: wire(1, Buffer.alloc(0)), timestamp: "0" }];
    const unavailable: string[] = [];
    const schemas = await resolveSchemas(records, cache, {
      givenUp: () => false,
      setReady: (r) => ready.push(r),
      onUnavailable: (e) => unavailable.push(e.message),
    });
    assert.equal(schemas?.get(1)?.found, true);
    assert.deepEqual(ready, [false, false, true]);
    assert.equal(unavailable.length, 1);

    const never = new SchemaCache(
      fakeRegistry({
        schemaById: async () => {
          throw new SchemaRegistryUnavailableError("down");
        },
      }),
    );
    const givenUp = await resolveSchemas(records, never, { givenUp: () => true });
    assert.equal(givenUp, undefined);
  });
});

describe("registry settings", () => {
  it("a registry format needs the kafka source and a registry URL, named in the error", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ env });
        return [];
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.problems.map((p) => p.path);
      }
    };
    assert.deepEqual(problems({ SW_INPUT_FORMAT: "avro" }).sort(), ["input.format", "input.schemaRegistry.url"]);
    assert.deepEqual(
      problems({
        SW_INPUT_FORMAT: "protobuf",
        SW_INPUT_SOURCE: "kafka",
        KAFKA_BROKERS: "127.0.0.1:9092",
        SW_KAFKA_INPUT_TOPICS: "posts",
        SCHEMA_REGISTRY_URL: "http://127.0.0.1:8081",
        SW_INPUT_SCHEMA_REGISTRY_USERNAME: "u",
      }),
      ["input.schemaRegistry.password"],
    );
  });

  it("send credentials only over https or to a loopback registry", () => {
    const kafka = {
      SW_INPUT_FORMAT: "avro",
      SW_INPUT_SOURCE: "kafka",
      KAFKA_BROKERS: "b:9092",
      SW_KAFKA_INPUT_TOPICS: "t",
    };
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ env: { ...kafka, ...env } });
        return [];
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        assert.doesNotMatch(e.message, /s3cret/, "the secret is not printed");
        return e.problems.map((p) => `${p.path}: ${p.reason}`);
      }
    };
    const token = { SW_INPUT_SCHEMA_REGISTRY_TOKEN: "s3cret-token" };
    assert.deepEqual(problems({ SCHEMA_REGISTRY_URL: "http://registry.example:8081", ...token }), [
      "input.schemaRegistry.url: credentials are sent only over https or to a loopback address: use an https:// URL",
    ]);
    assert.equal(problems({ SCHEMA_REGISTRY_URL: "http://u:s3cret@registry.example:8081" }).length, 1);
    assert.deepEqual(problems({ SCHEMA_REGISTRY_URL: "https://registry.example:8081", ...token }), []);
    assert.deepEqual(problems({ SCHEMA_REGISTRY_URL: "http://127.0.0.1:8081", ...token }), []);
    assert.deepEqual(problems({ SCHEMA_REGISTRY_URL: "http://registry.example:8081" }), [], "no credentials: any URL");
  });
});

describe("Avro events (output.format avro)", () => {
  const event = {
    schema: "sentiment.v1" as const,
    id: "p-1",
    source: { topic: "posts", partition: 2, offset: "17", timestamp: "", timestampMs: "-1" },
    sentiment: { label: "positive" as const, score: 0.9, scores: { positive: 0.9, neutral: 0.07, negative: 0.03 } },
    lang: "pt",
    langSource: "input" as const,
    truncated: false,
    model: { name: "m", revision: "r" },
    processedAt: "2026-12-07T10:00:00.000Z",
    input: { id: new LosslessNumber("9007199254740993"), text: "ok" },
  };

  it("has a field for every field of sentiment.v1 (one source), optional ones a union with null", () => {
    const avroFields = (sentimentEventAvroSchema().fields as { name: string; type: unknown }[]).map((f) => f.name);
    assert.deepEqual(avroFields, Object.keys(sentimentEventSchema.shape));
    const lang = (sentimentEventAvroSchema().fields as { name: string; type: unknown }[]).find(
      (f) => f.name === "lang",
    );
    assert.deepEqual(lang?.type, ["null", "string"]);
  });

  it("reads back with the generated schema alone: absent fields null, input as its exact JSON text", () => {
    const type = avro.Type.forSchema(sentimentEventAvroSchema() as avro.Schema);
    const back = type.fromBuffer(new AvroEventWriter().toBuffer(event)) as Record<string, unknown>;
    assert.equal(back.id, "p-1");
    assert.equal((back.source as { partition: number }).partition, 2);
    assert.equal((back.sentiment as { label: string }).label, "positive");
    assert.equal(back.lang, "pt");
    assert.equal(back.langConfidence, null);
    assert.equal(back.input, '{"id":9007199254740993,"text":"ok"}');
  });
});

describe("the schema cache under made-up ids", () => {
  it("asks at most 8 at a time, however many ids a chunk names", async () => {
    let inFlight = 0;
    let most = 0;
    const cache = new SchemaCache({
      schemaById: async () => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        return { found: false, message: "none" };
      },
      register: async () => assert.fail("nothing is registered here"),
    });
    const looked = await cache.lookup(Array.from({ length: 200 }, (_, i) => 1000 + i));
    assert.equal(looked.size, 200);
    assert.equal(most, 8);
  });
});
