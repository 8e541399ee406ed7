/**
 * Schemas: before a chunk in a registry format is decoded, the schemas of the ids its records name
 * (bytes 1-4 of each value), from the cache or the registry. An unreachable registry is not the
 * records' fault: the chunk waits (readiness false; the source's heartbeats go on) until it answers,
 * or until the chunk must be given up — as the claim does for Redis.
 */
import { SchemaRegistryUnavailableError } from "../../errors/errors.js";
import type { ChunkSchemas, SchemaCache } from "../../schema-registry/schema-cache.js";
import { wireSchemaId } from "../../schema-registry/wire-format.js";
import type { ChunkRecord } from "./items.js";
import { type Unavailability, untilAvailable, type WaitContext } from "./until-available.js";

export type ResolveContext = WaitContext<SchemaRegistryUnavailableError>;

const REGISTRY_DOWN: Unavailability<SchemaRegistryUnavailableError> = {
  is: (error): error is SchemaRegistryUnavailableError => error instanceof SchemaRegistryUnavailableError,
  initialMs: 200,
  maxMs: 5000,
};

/** The schema ids `records` name, each once. */
export function chunkSchemaIds(records: readonly ChunkRecord[]): Set<number> {
  const ids = new Set<number>();
  for (const record of records) {
    const id = wireSchemaId(record.value);
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

/** The chunk's schemas; undefined when it was given up while the registry did not answer. */
export function resolveSchemas(
  records: readonly ChunkRecord[],
  cache: SchemaCache,
  context: ResolveContext,
): Promise<ChunkSchemas | undefined> {
  const ids = chunkSchemaIds(records);
  return untilRegistryAnswers(() => cache.lookup(ids), context);
}

/** `ask` until the registry answers (readiness false meanwhile); undefined when the chunk was given up. */
export function untilRegistryAnswers<T>(ask: () => Promise<T>, context: ResolveContext): Promise<T | undefined> {
  return untilAvailable(ask, REGISTRY_DOWN, context);
}
