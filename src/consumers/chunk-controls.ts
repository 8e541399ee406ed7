/**
 * The controls a Kafka source hands the pipeline with each chunk of a fetched batch: the drain
 * signal and an offset commit that is retried while the coordinator moves; and the heartbeats,
 * which the source alone sends (between chunks, and on a timer while the pipeline works on one),
 * noticing a rebalance; and the chunks in flight at once, in offset order (`handOut`). Shared by the
 * group source and the replay reader.
 */
import { retry } from "../errors/retry.js";
import type { FetchedBatch } from "../kafka/client.js";
import { meansRejoin } from "../kafka/errors.js";
import type { ChunkHandler, PartitionChunk } from "./chunk-source.js";
import type { Drain } from "./drain.js";

export type ChunkControls = Pick<PartitionChunk, "isStale" | "isRunning" | "signal" | "commitOffset">;
type Outcome = Awaited<ReturnType<ChunkHandler["handle"]>>;

/** A chunk as the source cuts it (the controls and the order are added here), and what to do once it is committed. */
export interface Slice {
  chunk: Omit<PartitionChunk, keyof ChunkControls | "previous" | "claimed">;
  /** The chunk was committed (after every chunk before it in the fetch): move the read position past it. */
  committed(): void;
}

/** One fetched batch as a source hands it out, a chunk at a time. */
export interface FetchChunks {
  /** A heartbeat now, noticing a rebalance (for the source's own waits: a replay's rate limit). */
  heartbeat(): Promise<void>;
  /**
   * The batch hands out no more chunks: a stop or rebalance began, a newer generation joined, the
   * consumer stopped, or a seek made the batch stale.
   */
  ended(): boolean;
  /**
   * Hands the chunks `next` cuts (undefined: no more) to the pipeline, up to `inFlight` at once
   * (`chunksInFlight`), until one is not committed or the batch ended; resolves once none is in
   * flight, rejects with the first chunk's error.
   */
  handOut(handler: ChunkHandler, next: () => Promise<Slice | undefined>): Promise<void>;
}

/** Attempts of an offset commit that failed with a retriable error (a coordinator moving). */
const COMMIT_ATTEMPTS = 4;

/** A chunk handed out: how it ended, and whether it let the next one start (claimed, or ended). */
interface InFlight {
  slice: Slice;
  result: Promise<{ outcome: Outcome } | { error: unknown }>;
  /** Resolves once the chunk claimed its ids or ended: the next one may start (its claim comes after). */
  handedOn: Promise<unknown>;
  done: boolean;
}

/**
 * A batch's controls, and the rule that ends it after the chunks in flight: a stop or a rebalance
 * must not wait for the whole fetch.
 *
 * With two chunks in flight the next chunk starts once the one before claimed its ids (so claims
 * stay in offset order, and the first copy of an id is the one tagged) and is decoded, claimed and
 * inferred while the one before commits; the pipeline commits it only after the one before was
 * committed (`previous`). The read position moves chunk by chunk in offset order; the first chunk
 * not committed ends the batch, and the one behind it gives itself up before its commit.
 */
export function fetchChunks(
  batch: FetchedBatch,
  drain: Drain,
  heartbeatIntervalMs: number,
  chunksInFlight = 1,
): FetchChunks {
  const generation = drain.current;
  const { heartbeat, ...controls } = batchControls(batch, drain);
  const ended = () => !drain.mayContinue(generation) || !controls.isRunning() || controls.isStale();
  const start = (handler: ChunkHandler, slice: Slice, before: InFlight | undefined): InFlight => {
    let claimed: () => void = () => {};
    const claim = new Promise<void>((resolve) => {
      claimed = resolve;
    });
    const chunk: PartitionChunk = {
      ...slice.chunk,
      ...controls,
      claimed,
      ...(before ? { previous: before.result.then((r) => "outcome" in r && r.outcome === "processed") } : {}),
    };
    const running: InFlight = {
      slice,
      result: Promise.resolve({ outcome: "abandoned" }),
      handedOn: claim,
      done: false,
    };
    running.result = handler.handle(chunk).then(
      (outcome) => {
        running.done = true;
        return { outcome };
      },
      (error: unknown) => {
        running.done = true;
        return { error };
      },
    );
    running.handedOn = Promise.race([claim, running.result]);
    return running;
  };
  return {
    heartbeat,
    ended,
    handOut: async (handler, next) => {
      const window = Math.max(1, chunksInFlight);
      const inFlight: InFlight[] = [];
      let failure: { error: unknown } | undefined;
      let going = true;
      /** The oldest chunk's end: committed moves the read position; anything else ends the batch. */
      const settleOldest = async () => {
        const oldest = inFlight.shift() as InFlight;
        const result = await oldest.result;
        if ("error" in result) failure ??= result;
        else if (going && result.outcome === "processed") {
          oldest.slice.committed();
          return;
        }
        going = false;
      };
      // The client has no background heartbeat: beat while chunks are worked on.
      const timer = setInterval(() => void heartbeat().catch(() => {}), heartbeatIntervalMs);
      try {
        try {
          for (let index = 0; going; index++) {
            const newest = inFlight[inFlight.length - 1];
            if (newest) await newest.handedOn;
            while (going && inFlight.length > 0 && (inFlight.length >= window || (inFlight[0] as InFlight).done)) {
              await settleOldest();
            }
            if (!going) break;
            // A heartbeat between chunks notices a rebalance.
            if (index > 0) await heartbeat().catch(() => {});
            if (ended()) break;
            const slice = await next();
            if (slice === undefined) break;
            inFlight.push(start(handler, slice, inFlight[inFlight.length - 1]));
          }
        } catch (error) {
          // The source could not cut the next chunk: those in flight still end (and resolve) in order.
          failure ??= { error };
        }
        // The rest in order: behind a chunk not committed, each gives itself up before its commit.
        while (inFlight.length > 0) await settleOldest();
      } finally {
        clearInterval(timer);
      }
      if (failure) throw failure.error;
    },
  };
}

function batchControls(batch: FetchedBatch, drain: Drain): ChunkControls & { heartbeat(): Promise<void> } {
  /** The call, noticing when its error says the generation is over: hand out no more chunks, so the member can rejoin in time. */
  const noticingRejoin = async (call: () => Promise<void>) => {
    try {
      await call();
    } catch (error) {
      if (meansRejoin(error)) drain.begin("rebalance");
      throw error;
    }
  };
  return {
    heartbeat: () => noticingRejoin(() => batch.heartbeat()),
    isStale: batch.isStale,
    isRunning: batch.isRunning,
    signal: drain.signal,
    commitOffset: (nextOffset, metadata) =>
      retry(() => noticingRejoin(() => batch.commitOffset(nextOffset, metadata)), {
        attempts: COMMIT_ATTEMPTS,
        backoff: { initialMs: 200, maxMs: 2000 },
        retryIf: (error) => (error as { retriable?: unknown }).retriable === true,
      }),
  };
}
