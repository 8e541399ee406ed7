/**
 * Schemas: before a chunk in a registry format is decoded, the schemas of the ids its records name
 * (bytes 1-4 of each value), from the cache or the registry. An unreachable registry is not the
 * records' fault: the chunk waits (readiness false; the source's heartbeats go on) until it answers,
 * or until the chunk must be given up — as the claim does for Redis.
 */
import { SchemaRegistryUnavailableError } from "../../errors/errors.js";
import { pause } from "../../errors/retry.js";
import type { ChunkSchemas, SchemaCache } from "../../schema-registry/schema-cache.js";
import { wireSchemaId } from "../../schema-registry/wire-format.js";
import type { ChunkRecord } from "./items.js";

export interface ResolveContext {
  /** The chunk is to be given up (rebalance, seek, stop): stop waiting for the registry. */
  givenUp(): boolean;
  setReady?: ((ready: boolean) => void) | undefined;
  /** Told once per outage, with why. */
  onUnavailable?: ((error: SchemaRegistryUnavailableError) => void) | undefined;
}

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
export async function untilRegistryAnswers<T>(ask: () => Promise<T>, context: ResolveContext): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await ask();
      context.setReady?.(true);
      return answer;
    } catch (error) {
      if (!(error instanceof SchemaRegistryUnavailableError)) throw error;
      if (attempt === 1) context.onUnavailable?.(error);
      context.setReady?.(false);
      if (context.givenUp()) return undefined;
      await pause(attempt, { initialMs: 200, maxMs: 5000 });
    }
  }
}
