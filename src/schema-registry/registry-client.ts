/**
 * A small client of a schema registry's Confluent API (Confluent, Redpanda, Karapace, Apicurio's
 * ccompat): schemas by id, with the schemas they reference. Plain node:http(s), so TLS (a CA, a
 * client certificate) and basic or bearer authentication are set per request without an agent
 * library. Only what every implementation shares is relied on: a 200 with `schema`, `schemaType`
 * (absent for Avro) and `references`, and a 404 with `error_code` 40403 for an id it does not have.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Config } from "../config/index.js";
import { errorMessage } from "../errors/error-message.js";
import { ConfigError, SchemaRegistryUnavailableError } from "../errors/errors.js";

/** AVRO, PROTOBUF or JSON; another type is passed on as named (its records cannot be decoded). */
export type SchemaType = string;

/** A schema as the decoders need it: its text and, in dependency order, the texts it references. */
export interface RegisteredSchema {
  schemaType: SchemaType;
  schema: string;
  /** Referenced schemas, each before those that use it; `name` is the import path (Protobuf) or type name (Avro). */
  references: { name: string; schemaType: SchemaType; schema: string }[];
}

/** What the registry says of an id: its schema, or that it has none (the record's fault). */
export type SchemaLookup = { found: true; schema: RegisteredSchema } | { found: false; message: string };

/** Error code of Confluent's API for "no schema with this id". */
const SCHEMA_NOT_FOUND = 40403;
/** References nest rarely; a cycle or a hostile registry must not recurse for ever. */
const MAX_REFERENCE_DEPTH = 16;
/** A schema is a few KB; a larger answer is not one. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export type RegistrySettings = Config["input"]["schemaRegistry"];

interface Reply {
  status: number;
  body: unknown;
}

interface RawSchema {
  schema: string;
  schemaType?: string;
  references?: { name: string; subject: string; version: number }[];
}

export class SchemaRegistryClient {
  private readonly base: URL;
  private readonly headers: Record<string, string>;
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };

  constructor(private readonly settings: RegistrySettings & { url: string }) {
    this.base = new URL(settings.url.endsWith("/") ? settings.url : `${settings.url}/`);
    this.headers = { accept: "application/vnd.schemaregistry.v1+json, application/json" };
    if (settings.token !== undefined) this.headers.authorization = `Bearer ${settings.token}`;
    else if (settings.username !== undefined) {
      const pair = `${settings.username}:${settings.password ?? ""}`;
      this.headers.authorization = `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
    } else if (this.base.username) {
      // Credentials in the URL (https://user:pass@host): sent as basic authentication, never in the path.
      const pair = `${decodeURIComponent(this.base.username)}:${decodeURIComponent(this.base.password)}`;
      this.headers.authorization = `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
    }
    this.base.username = "";
    this.base.password = "";
    // Read once at start-up: a missing file is a setting's fault, reported with its name.
    const file = (path: string | undefined, field: string) => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path);
      } catch (e) {
        throw new ConfigError([
          { path: `input.schemaRegistry.${field}`, reason: `cannot read ${path}: ${errorMessage(e)}` },
        ]);
      }
    };
    const ca = file(settings.caFile, "caFile");
    const cert = file(settings.certFile, "certFile");
    const key = file(settings.keyFile, "keyFile");
    this.tls = {
      rejectUnauthorized: settings.rejectUnauthorized,
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    };
  }

  /** The schema of `id` and those it references; throws SchemaRegistryUnavailableError when the registry does not say. */
  async schemaById(id: number): Promise<SchemaLookup> {
    const reply = await this.get(`schemas/ids/${id}`);
    if (reply.status === 404 && errorCode(reply.body) === SCHEMA_NOT_FOUND) {
      return { found: false, message: `the schema registry has no schema with id ${id}` };
    }
    const raw = this.schemaOf(reply, `schema ${id}`);
    const references: RegisteredSchema["references"] = [];
    await this.collectReferences(raw, references, new Set(), 0);
    return { found: true, schema: { schemaType: schemaType(raw), schema: raw.schema, references } };
  }

  /**
   * Registers `schema` under `subject` (the id of the version that has it, when one does), then
   * sets the subject's compatibility to `compatibility`. Throws SchemaRegistryUnavailableError when
   * the registry does not register it (any answer but 200: an incompatible schema is a 409 on
   * Confluent's registry and Apicurio's alike, but their error codes differ, and neither is needed
   * here). A refused compatibility (credentials that may register but not configure) is only told
   * to `onRefused`: the events can still be written.
   */
  async register(
    subject: string,
    schema: string,
    schemaType: SchemaType,
    compatibility?: string,
    onRefused?: (message: string) => void,
  ): Promise<number> {
    const path = encodeURIComponent(subject);
    const reply = await this.send(
      "POST",
      `subjects/${path}/versions`,
      schemaType === "AVRO" ? { schema } : { schema, schemaType },
    );
    const id = (reply.body as { id?: unknown } | null)?.id;
    if (reply.status !== 200 || typeof id !== "number") {
      const detail = JSON.stringify(reply.body ?? "").slice(0, 300);
      throw new SchemaRegistryUnavailableError(
        `the schema registry did not register the schema of ${subject}: ${reply.status} ${detail}`,
      );
    }
    if (compatibility !== undefined) {
      const set = await this.send("PUT", `config/${path}`, { compatibility });
      if (set.status !== 200) {
        const detail = JSON.stringify(set.body ?? "").slice(0, 300);
        onRefused?.(`the schema registry did not set ${subject} to ${compatibility}: ${set.status} ${detail}`);
      }
    }
    return id;
  }

  /** The references of `raw`, depth first, each once, into `out`. */
  private async collectReferences(
    raw: RawSchema,
    out: RegisteredSchema["references"],
    seen: Set<string>,
    depth: number,
  ): Promise<void> {
    for (const ref of raw.references ?? []) {
      if (seen.has(ref.name)) continue;
      seen.add(ref.name);
      if (depth >= MAX_REFERENCE_DEPTH) {
        throw new SchemaRegistryUnavailableError(`schema references nest more than ${MAX_REFERENCE_DEPTH} deep`);
      }
      const path = `subjects/${encodeURIComponent(ref.subject)}/versions/${encodeURIComponent(String(ref.version))}`;
      const referenced = this.schemaOf(await this.get(path), `reference ${ref.name}`);
      await this.collectReferences(referenced, out, seen, depth + 1);
      out.push({ name: ref.name, schemaType: schemaType(referenced), schema: referenced.schema });
    }
  }

  private schemaOf(reply: Reply, what: string): RawSchema {
    if (reply.status !== 200) {
      const detail = typeof reply.body === "object" && reply.body !== null ? JSON.stringify(reply.body) : "";
      throw new SchemaRegistryUnavailableError(
        `the schema registry answered ${reply.status} for ${what}${detail ? `: ${detail.slice(0, 300)}` : ""}`,
      );
    }
    const body = reply.body as Partial<RawSchema> | null;
    if (typeof body?.schema !== "string") {
      throw new SchemaRegistryUnavailableError(`the schema registry's answer for ${what} has no schema`);
    }
    return body as RawSchema;
  }

  private get(path: string): Promise<Reply> {
    return this.send("GET", path);
  }

  private send(method: string, path: string, json?: unknown): Promise<Reply> {
    const url = new URL(path, this.base);
    const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json), "utf8");
    const headers =
      body === undefined
        ? this.headers
        : {
            ...this.headers,
            "content-type": "application/vnd.schemaregistry.v1+json",
            "content-length": String(body.length),
          };
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const fail = (e: unknown) =>
        reject(
          e instanceof SchemaRegistryUnavailableError
            ? e
            : new SchemaRegistryUnavailableError(`the schema registry does not answer: ${errorMessage(e)}`, e),
        );
      const req = send(
        url,
        { method, headers, timeout: this.settings.timeoutMs, ...this.tls },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(
                new SchemaRegistryUnavailableError(`the schema registry's answer exceeds ${MAX_RESPONSE_BYTES} bytes`),
              );
              return;
            }
            chunks.push(chunk);
          });
          res.on("error", fail);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let body: unknown = null;
            try {
              body = text ? JSON.parse(text) : null;
            } catch {
              // Not JSON (a proxy's error page): the status says enough.
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.settings.timeoutMs} ms`)));
      req.on("error", fail);
      req.end(body);
    });
  }
}

function errorCode(body: unknown): number | undefined {
  const code = (body as { error_code?: unknown } | null)?.error_code;
  return typeof code === "number" ? code : undefined;
}

/** Confluent's API leaves the type out for Avro. */
function schemaType(raw: RawSchema): SchemaType {
  return typeof raw.schemaType === "string" ? raw.schemaType : "AVRO";
}
