/**
 * Payloads to plain values with their writer's schema (the one their id names): Avro with avsc,
 * Protobuf with protobufjs, JSON Schema as JSON. Parsed schemas are kept per id (ids never change
 * meaning in a registry). What comes out is JSON's kinds of values, as passthrough puts them in the
 * event: Avro bytes and Protobuf bytes as base64 text, Avro longs as numbers (a LosslessNumber past
 * 2^53, printed exactly), Protobuf 64-bit integers and enums as text (proto3's JSON mapping).
 */
import avro from "avsc";
import { LosslessNumber } from "lossless-json";
import protobuf from "protobufjs";
import type { RegisteredSchema } from "./registry-client.js";
import { protobufMessageIndexes, WIRE_HEADER_BYTES } from "./wire-format.js";

/** The schema type each registry format reads. */
export const SCHEMA_TYPES = { avro: "AVRO", protobuf: "PROTOBUF", "json-schema": "JSON" } as const;
export type RegistryFormat = keyof typeof SCHEMA_TYPES;

export function isRegistryFormat(format: string): format is RegistryFormat {
  return Object.hasOwn(SCHEMA_TYPES, format);
}

/** A payload decoded, or why not (a message for the dead letter). */
export type PayloadResult = { ok: true; value: unknown; json?: string } | { ok: false; message: string };

interface Decoder {
  /** `plain`: the whole value as JSON's kinds (for passthrough); else only what field paths read must be right. */
  decode(value: Buffer, plain: boolean): PayloadResult;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Avro longs exactly: a number while a double holds it, else a LosslessNumber (as for JSON). */
const exactLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => {
    const n = buf.readBigInt64LE();
    return n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : new LosslessNumber(n.toString());
  },
  toBuffer: (n: number | LosslessNumber) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n instanceof LosslessNumber ? n.value : n));
    return buf;
  },
  fromJSON: (n: number) => n,
  toJSON: (n: number | LosslessNumber) => (n instanceof LosslessNumber ? Number(n.value) : n),
  isValid: (n: unknown) => typeof n === "number" || n instanceof LosslessNumber,
  compare: (a: number, b: number) => (a === b ? 0 : a < b ? -1 : 1),
});

/** Avro's values as JSON's: bytes and fixed as base64, records as plain objects. */
function plainAvro(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof LosslessNumber) return value;
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (Array.isArray(value)) return value.map(plainAvro);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = plainAvro((value as Record<string, unknown>)[key]);
    // Assigning "__proto__" would set the prototype (a map's key may be anything).
    Object.defineProperty(out, key, { value: item, writable: true, enumerable: true, configurable: true });
  }
  return out;
}

function avroDecoder(schema: RegisteredSchema): Decoder {
  const registry: Record<string, avro.Type> = { long: exactLong as unknown as avro.Type };
  // Referenced types first, so the schema can name them.
  for (const ref of schema.references) avro.Type.forSchema(JSON.parse(ref.schema), { registry });
  const type = avro.Type.forSchema(JSON.parse(schema.schema), { registry });
  return {
    decode: (value, plain) => {
      try {
        // A record's fields are own properties, so field paths read it as it is.
        const decoded = type.fromBuffer(value.subarray(WIRE_HEADER_BYTES));
        return { ok: true, value: plain ? plainAvro(decoded) : decoded };
      } catch (e) {
        return { ok: false, message: `the Avro payload does not decode with its schema: ${(e as Error).message}` };
      }
    },
  };
}

const PROTOBUF_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  json: true,
};

function protobufDecoder(schema: RegisteredSchema): Decoder {
  const root = new protobuf.Root();
  const addWellKnown = (imports: readonly string[] | undefined) => {
    for (const file of imports ?? []) {
      // google/protobuf/*.proto ship with protobufjs; registries often leave them out of the references.
      const common = protobuf.common.get(file);
      if (common && !schema.references.some((r) => r.name === file)) root.addJSON(common.nested ?? {});
    }
  };
  for (const ref of schema.references) addWellKnown(protobuf.parse(ref.schema, root, { keepCase: true }).imports);
  const parsed = protobuf.parse(schema.schema, root, { keepCase: true });
  addWellKnown(parsed.imports);
  root.resolveAll();
  // The file's own top-level messages in the order it declares them (the indexes count only
  // messages), found in the root that has the references merged in, which resolves their fields.
  const own = protobuf.parse(schema.schema, { keepCase: true }).root;
  const ownScope = (parsed.package ? own.lookup(parsed.package) : own) as protobuf.Namespace | null;
  const fileScope = (parsed.package ? root.lookup(parsed.package) : root) as protobuf.Namespace | null;
  const topLevel = (ownScope?.nestedArray ?? [])
    .filter((n) => n instanceof protobuf.Type)
    .map((n) => fileScope?.get(n.name))
    .filter((n): n is protobuf.Type => n instanceof protobuf.Type);
  const messageAt = (indexes: readonly number[]): protobuf.Type | undefined => {
    let candidates: protobuf.Type[] = topLevel;
    let found: protobuf.Type | undefined;
    for (const index of indexes) {
      found = candidates[index];
      if (!found) return undefined;
      candidates = found.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
    }
    return found;
  };
  return {
    decode: (value) => {
      let indexes: number[];
      let start: number;
      try {
        ({ indexes, start } = protobufMessageIndexes(value));
      } catch (e) {
        return { ok: false, message: `the Protobuf payload's message indexes are not valid: ${(e as Error).message}` };
      }
      const type = messageAt(indexes);
      if (!type) return { ok: false, message: `the schema has no message at indexes [${indexes.join(", ")}]` };
      try {
        const message = type.decode(value.subarray(start));
        return { ok: true, value: type.toObject(message, PROTOBUF_OBJECT) };
      } catch (e) {
        return {
          ok: false,
          message: `the Protobuf payload does not decode as ${type.fullName.slice(1)}: ${(e as Error).message}`,
        };
      }
    },
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** JSON Schema: the payload is JSON text (validation is the producer's, as Confluent's deserializer defaults). */
const jsonDecoder: Decoder = {
  decode: (value) => {
    let json: string;
    try {
      json = utf8.decode(value.subarray(WIRE_HEADER_BYTES));
    } catch {
      return { ok: false, message: "the JSON Schema payload is not valid UTF-8" };
    }
    try {
      return { ok: true, value: JSON.parse(json), json };
    } catch (e) {
      return { ok: false, message: `the JSON Schema payload is not JSON: ${(e as Error).message}` };
    }
  },
};

/** Parsed schemas kept per thread; past this the oldest is parsed again when met again. */
const MAX_DECODERS = 1024;

/** Decoders by schema id, made on first use (one per thread that decodes). */
export class SchemaDecoders {
  private readonly decoders = new Map<number, Decoder | string>();

  /** Decodes `value` (the whole record value, header included) with schema `id`. */
  decode(format: RegistryFormat, id: number, schema: RegisteredSchema, value: Buffer, plain = true): PayloadResult {
    let decoder = this.decoders.get(id);
    if (decoder === undefined) {
      decoder = this.make(id, schema);
      if (this.decoders.size >= MAX_DECODERS) this.decoders.delete(this.decoders.keys().next().value as number);
      this.decoders.set(id, decoder);
    }
    if (typeof decoder === "string") return { ok: false, message: decoder };
    if (schema.schemaType !== SCHEMA_TYPES[format]) {
      return {
        ok: false,
        message: `schema ${id} is ${schema.schemaType}, not ${SCHEMA_TYPES[format]} as input.format ${format} reads`,
      };
    }
    return decoder.decode(value, plain);
  }

  /** A decoder, or why the schema cannot be used (each record of it says so in its dead letter). */
  private make(id: number, schema: RegisteredSchema): Decoder | string {
    try {
      if (schema.schemaType === "AVRO") return avroDecoder(schema);
      if (schema.schemaType === "PROTOBUF") return protobufDecoder(schema);
      if (schema.schemaType === "JSON") return jsonDecoder;
      return `schema ${id} has type ${schema.schemaType}, which this worker does not read`;
    } catch (e) {
      return `schema ${id} (${schema.schemaType}) cannot be used: ${(e as Error).message}`;
    }
  }
}
