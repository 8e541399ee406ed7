/**
 * Claim: the messages to tag are those whose ids were not seen before (one round trip to the
 * de-duplication). In `fail` mode an unreachable store holds the chunk (readiness false; the
 * source's heartbeats go on) until it answers, or until the chunk must be given up.
 */
import type { ClaimingDeduplicator } from "../../dedup/dedup.js";
import { DedupUnavailableError } from "../../errors/errors.js";
import { type Unavailability, untilAvailable, type WaitContext } from "./until-available.js";

/** Ids of an acknowledged commit whose outputs a sweep aborted: tagged again when read before `next`. */
export interface Retag {
  next: bigint;
  ids: ReadonlySet<string>;
}

export interface ClaimContext extends WaitContext {
  dedup: ClaimingDeduplicator | undefined;
  retag: Retag | undefined;
}

const REDIS_DOWN: Unavailability<DedupUnavailableError> = {
  is: (error): error is DedupUnavailableError => error instanceof DedupUnavailableError,
  initialMs: 100,
  maxMs: 2000,
};

/** A chunk's messages as the claim sees them: each one's id and its record's offset. */
export interface Claimable {
  /** `topic/partition/`, before each offset in what a claim says of where it came from. */
  partition: string;
  ids: readonly string[];
  offsets: readonly string[];
}

/**
 * The indexes of the messages to tag, ascending; undefined when the chunk was given up while the
 * store did not answer.
 */
export async function claimChunk(
  { partition, ids, offsets }: Claimable,
  context: ClaimContext,
): Promise<number[] | undefined> {
  const { dedup, retag } = context;
  const all = Array.from(ids, (_, i) => i);
  if (!dedup || ids.length === 0) return all;
  // Read again after a sweep aborted their outputs: tagged again whatever the store says.
  const again = new Set<number>();
  if (retag) {
    // The first copy of each id only: a later one was a duplicate the first time too.
    const seen = new Set<string>();
    for (const [i, id] of ids.entries()) {
      if (BigInt(offsets[i] as string) < retag.next && retag.ids.has(id) && !seen.has(id)) again.add(i);
      seen.add(id);
    }
  }
  const asked = again.size > 0 ? all.filter((i) => !again.has(i)) : all;
  if (asked.length === 0) return all;
  const askedIds = asked.map((i) => ids[i] as string);
  const sources = asked.map((i) => `${partition}${offsets[i]}`);
  const outcomes = await untilAvailable(() => dedup.claimDetailed(askedIds, sources), REDIS_DOWN, context);
  if (outcomes === undefined) return undefined;
  const claimed = new Set(asked.filter((_, n) => outcomes[n] === "new" || outcomes[n] === "retaken"));
  return all.filter((i) => again.has(i) || claimed.has(i));
}
