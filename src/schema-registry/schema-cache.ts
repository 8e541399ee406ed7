/**
 * The schemas of the ids a chunk's records name, asked of the registry once per id (on the main
 * thread, before the chunk is decoded on a processing thread, which gets them with the records).
 * A found schema is kept for good (an id never changes meaning); an id the registry does not have
 * is asked again after `missingTtlMs`, in case it was being registered.
 */
import { SchemaRegistryUnavailableError } from "../errors/errors.js";
import type { SchemaLookup, SchemaRegistryClient } from "./registry-client.js";

/** Requests in flight at once: a chunk of records with thousands of made-up ids must not flood the registry. */
const MAX_CONCURRENT_LOOKUPS = 8;
/** Ids the registry said it lacks, remembered at most: made-up ids must not fill the memory. */
const MAX_MISSING = 10_000;

/** The lookups of a chunk's schema ids: cloned to a processing thread with the records. */
export type ChunkSchemas = Map<number, SchemaLookup>;

export class SchemaCache {
  private readonly known = new Map<number, SchemaLookup & { found: true }>();
  private readonly missing = new Map<number, { lookup: SchemaLookup; until: number }>();
  private readonly pending = new Map<number, Promise<SchemaLookup>>();
  private readonly registered = new Map<string, Promise<number>>();

  constructor(
    private readonly client: Pick<SchemaRegistryClient, "schemaById" | "register">,
    private readonly missingTtlMs = 30_000,
    private readonly now: () => number = Date.now,
    /** Told when the registry keeps the event schema but refuses its subject's compatibility. */
    private readonly onCompatibilityRefused?: (message: string) => void,
  ) {}

  /** Lookups of `ids`; throws SchemaRegistryUnavailableError when the registry does not say for one of them. */
  async lookup(ids: Iterable<number>): Promise<ChunkSchemas> {
    const out: ChunkSchemas = new Map();
    const unknown: number[] = [];
    for (const id of new Set(ids)) {
      const known = this.known.get(id) ?? this.freshMissing(id);
      if (known) out.set(id, known);
      else unknown.push(id);
    }
    // A few at a time; the first failure stops the rest (the chunk waits and asks again anyway).
    let next = 0;
    const worker = async () => {
      while (next < unknown.length) {
        const id = unknown[next++] as number;
        out.set(id, await this.ask(id));
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(MAX_CONCURRENT_LOOKUPS, unknown.length) }, worker));
    } catch (reason) {
      next = unknown.length;
      throw reason instanceof SchemaRegistryUnavailableError
        ? reason
        : new SchemaRegistryUnavailableError(String(reason), reason);
    }
    return out;
  }

  /** The id of `schema` under `subject`, registered once per process (again after a failure). */
  register(subject: string, schema: string, compatibility: string): Promise<number> {
    const key = `${subject}\u0000${schema}`;
    let id = this.registered.get(key);
    if (!id) {
      id = this.client.register(subject, schema, "AVRO", compatibility, this.onCompatibilityRefused);
      id.catch(() => this.registered.delete(key));
      this.registered.set(key, id);
    }
    return id;
  }

  private freshMissing(id: number): SchemaLookup | undefined {
    const entry = this.missing.get(id);
    if (entry && entry.until > this.now()) return entry.lookup;
    this.missing.delete(id);
    return undefined;
  }

  /** One request per id at a time, however many chunks wait for it. */
  private ask(id: number): Promise<SchemaLookup> {
    let request = this.pending.get(id);
    if (!request) {
      request = this.client.schemaById(id).then((lookup) => {
        if (lookup.found) this.known.set(id, lookup);
        else {
          if (this.missing.size >= MAX_MISSING) this.missing.delete(this.missing.keys().next().value as number);
          this.missing.set(id, { lookup, until: this.now() + this.missingTtlMs });
        }
        return lookup;
      });
      request.finally(() => this.pending.delete(id)).catch(() => {});
      this.pending.set(id, request);
    }
    return request;
  }
}
