/**
 * Claim: the messages to tag are those whose ids were not seen before (one round trip to the
 * de-duplication). In `fail` mode an unreachable store holds the chunk (readiness false; the
 * source's heartbeats go on) until it answers, or until the chunk must be given up.
 */
import type { ClaimingDeduplicator } from "../../dedup/dedup.js";
import { DedupUnavailableError } from "../../errors/errors.js";
import { pause } from "../../errors/retry.js";
import type { MessageItem } from "./items.js";

/** Ids of an acknowledged commit whose outputs a sweep aborted: tagged again when read before `next`. */
export interface Retag {
  next: bigint;
  ids: ReadonlySet<string>;
}

export interface ClaimContext {
  dedup: ClaimingDeduplicator | undefined;
  retag: Retag | undefined;
  /** The chunk is to be given up (rebalance, seek, stop): stop waiting for the store. */
  givenUp(): boolean;
  setReady?: ((ready: boolean) => void) | undefined;
}

/** The messages to tag, in order; undefined when the chunk was given up while the store did not answer. */
export async function claimChunk<T extends MessageItem>(all: T[], context: ClaimContext): Promise<T[] | undefined> {
  const { dedup, retag } = context;
  if (!dedup || all.length === 0) return all;
  // Read again after a sweep aborted their outputs: tagged again whatever the store says.
  const again = new Set<T>();
  if (retag) {
    // The first copy of each id only: a later one was a duplicate the first time too.
    const seen = new Set<string>();
    for (const m of all) {
      const { id } = m.decoded;
      if (BigInt(m.source.offset) < retag.next && retag.ids.has(id) && !seen.has(id)) again.add(m);
      seen.add(id);
    }
  }
  const messages = again.size > 0 ? all.filter((m) => !again.has(m)) : all;
  if (messages.length === 0) return all;
  const ids = messages.map((m) => m.decoded.id);
  const sources = messages.map((m) => `${m.source.topic}/${m.source.partition}/${m.source.offset}`);
  for (let attempt = 1; ; attempt++) {
    try {
      const outcomes = await dedup.claimDetailed(ids, sources);
      context.setReady?.(true);
      const claimed = new Set(messages.filter((_, i) => outcomes[i] === "new" || outcomes[i] === "retaken"));
      return all.filter((m) => again.has(m) || claimed.has(m));
    } catch (error) {
      if (!(error instanceof DedupUnavailableError)) throw error;
      context.setReady?.(false);
      if (context.givenUp()) return undefined;
      await pause(attempt, { initialMs: 100, maxMs: 2000 });
    }
  }
}
