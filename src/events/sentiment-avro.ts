/**
 * `sentiment.v1` as Avro (`output.format: avro`), generated from the same zod schema as the JSON
 * Schema (one source): an object is a record, an optional field a union with null (default null),
 * an integer a long, a number a double; enums and the literal are strings (a new label or source
 * must not break readers of older schemas); `input` (any JSON object) is its JSON text.
 */
import avro from "avsc";
import { SENTIMENT_EVENT_SCHEMA, type SentimentEvent, sentimentEventJsonSchema } from "./sentiment-event.js";
import { serializeJson } from "./serialize-event.js";

/** The Avro namespace of the records (Post-style names under it: `SentimentEvent`, `Source`, …). */
export const AVRO_NAMESPACE = "io.sentimentworker.v1";

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  additionalProperties?: unknown;
}

/** A record name from a field name: `source` → `Source`. */
const recordName = (field: string) => field.charAt(0).toUpperCase() + field.slice(1);

function avroType(field: string, schema: JsonSchema): unknown {
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
      return "long";
    case "number":
      return "double";
    case "boolean":
      return "boolean";
    case "object":
      // A closed object is a record; an open one (passthrough's `input`) its JSON text.
      if (schema.properties && schema.additionalProperties === false) return avroRecord(recordName(field), schema);
      return "string";
    default:
      throw new Error(`sentiment.v1 field ${field} has JSON type ${schema.type}, which has no Avro form here`);
  }
}

function avroRecord(name: string, schema: JsonSchema): Record<string, unknown> {
  const required = new Set(schema.required ?? []);
  return {
    type: "record",
    name,
    ...(schema.description ? { doc: schema.description } : {}),
    fields: Object.entries(schema.properties ?? {}).map(([field, property]) => {
      const type = avroType(field, property);
      const doc = property.description ? { doc: property.description } : {};
      return required.has(field)
        ? { name: field, type, ...doc }
        : { name: field, type: ["null", type], default: null, ...doc };
    }),
  };
}

/** The Avro schema of `sentiment.v1` events. */
export function sentimentEventAvroSchema(): Record<string, unknown> {
  const json = sentimentEventJsonSchema() as JsonSchema;
  return { ...avroRecord("SentimentEvent", json), namespace: AVRO_NAMESPACE };
}

/** A value as its Avro field holds it: null for an absent optional, JSON text for an open object. */
function avroValue(schema: JsonSchema, value: unknown): unknown {
  if (schema.type !== "object" || value === undefined || value === null) return value;
  if (!(schema.properties && schema.additionalProperties === false)) return serializeJson(value);
  const record: Record<string, unknown> = {};
  const values = value as Record<string, unknown>;
  for (const [name, property] of Object.entries(schema.properties)) {
    const item = values[name];
    record[name] = item === undefined ? null : avroValue(property, item);
  }
  return record;
}

/** Writes events as Avro with the generated schema. */
export class AvroEventWriter {
  private readonly type: avro.Type;
  private readonly json = sentimentEventJsonSchema() as JsonSchema;

  constructor(schema: Record<string, unknown> = sentimentEventAvroSchema()) {
    this.type = avro.Type.forSchema(schema as avro.Schema);
  }

  /** The event's Avro bytes (no wire-format header). */
  toBuffer(event: SentimentEvent): Buffer {
    return this.type.toBuffer(avroValue(this.json, event));
  }
}

export { SENTIMENT_EVENT_SCHEMA };
