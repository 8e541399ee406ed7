/**
 * The schema registry for integration tests (`SCHEMA_REGISTRY_URL`, which `npm test` sets after
 * starting the local one: scripts/services.mjs), what a producer does with it (register a schema,
 * frame a payload in Confluent's wire format), and a TCP proxy in front of it that a test stops and
 * starts on the same port, to take the registry away from one worker without touching the shared one.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./redis-server.js";

/** The registry's URL, or why the tests that need it skip (outside CI only: in CI it must be there). */
export function registryUrl(env: NodeJS.ProcessEnv = process.env): { url: string } | { skip: string } {
  const url = env.SCHEMA_REGISTRY_URL;
  if (url) return { url: url.replace(/\/$/, "") };
  const skip =
    "needs a schema registry: set SCHEMA_REGISTRY_URL, or run `export $(node scripts/services.mjs up registry)` (`npm test` starts it by itself)";
  if (env.CI) throw new Error(`in CI the schema-registry tests do not skip: ${skip}`);
  return { skip };
}

/** Registers `schema` under `subject` (a new version when it differs) and returns its id. */
export async function registerSchema(
  url: string,
  subject: string,
  schema: string,
  schemaType: "AVRO" | "PROTOBUF" | "JSON" = "AVRO",
): Promise<number> {
  const res = await fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: "POST",
    headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
    body: JSON.stringify(schemaType === "AVRO" ? { schema } : { schema, schemaType }),
  });
  const body = (await res.json()) as { id?: number };
  if (!res.ok || typeof body.id !== "number")
    throw new Error(`registering ${subject}: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

/** A value in Confluent's wire format: zero byte, schema id, (Protobuf) message indexes, payload. */
export function wireValue(id: number, payload: Uint8Array, protobufIndexes?: readonly number[]): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 1);
  const indexes =
    protobufIndexes === undefined
      ? Buffer.alloc(0)
      : protobufIndexes.length === 1 && protobufIndexes[0] === 0
        ? Buffer.from([0])
        : Buffer.from([protobufIndexes.length * 2, ...protobufIndexes.map((i) => i * 2)]); // zig-zag, each < 64
  return Buffer.concat([header, indexes, payload]);
}

/** A TCP proxy on a fixed loopback port to `target`; `stop` refuses connections (and cuts open ones) until `start`. */
export class RegistryProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  /** A proxy of `url` on a free port, not yet listening (the registry is "down"). */
  static async create(url: string): Promise<RegistryProxy> {
    return new RegistryProxy(await freePort(), new URL(url));
  }

  /** The registry's URL through the proxy. */
  get url(): string {
    return `http://127.0.0.1:${this.port}${this.target.pathname}`;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.target.hostname, port: Number(this.target.port) });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
