/**
 * Infer: a result for each message to tag, from the result cache where an identical normalised
 * text was tagged before (one MGET), from the shared batcher otherwise; and, beside it, the
 * languages to identify, elsewhere (the language thread).
 */
import type { CachedResult } from "../../dedup/result-cache.js";
import { AbandonedChunkError } from "../../errors/errors.js";
import { classifiedAt, selectPacked } from "../../inference/packed.js";
import type { DetectLanguage } from "../../language/event-language.js";
import type { Identified } from "../../language/identify.js";
import { untilAborted } from "../abandoned.js";
import type { ChunkTagging, Classified, PackedEncodings } from "../ports.js";
import type { MessageItem } from "./items.js";

/** A chunk's messages as the infer stage sees them. */
export interface InferInput {
  /** The messages to tag (indexes of the per-message arrays below), ascending. */
  tagged: readonly number[];
  /** Per message: the result-cache key of its text; empty without the cache. */
  hashes: readonly string[];
  /** Per message: its text's encoding. */
  encodings: PackedEncodings;
}

/** Per tagged message, in the order of `tagged`: its result, packed. */
export interface Inferred {
  /** Every label's probability, in the model's label order. */
  scores: Float64Array;
  truncated: Uint8Array;
  tokens: Int32Array;
  cacheHits: number;
  cacheWrites: CachedResult<Classified>[];
}

/**
 * Waiting for batcher capacity holds this partition's chunk, which is what stops the consumer
 * fetching it: backpressure. An aborted `signal` gives the chunk up (AbandonedChunkError).
 */
export async function inferChunk(
  { tagged, hashes, encodings }: InferInput,
  signal: AbortSignal,
  { classifier, dedup }: ChunkTagging,
): Promise<Inferred> {
  const { labels } = classifier.model;
  const cache = dedup?.results;
  const n = tagged.length;
  const inferred: Inferred = {
    scores: new Float64Array(n * labels.length),
    truncated: new Uint8Array(n),
    tokens: new Int32Array(n),
    cacheHits: 0,
    cacheWrites: [],
  };
  const cached = cache ? await cache.getCached(tagged.map((m) => hashes[m] as string)) : [];
  const misses: number[] = [];
  for (let t = 0; t < n; t++) {
    const hit = cached[t];
    if (hit === undefined || !isClassified(hit, labels)) {
      misses.push(t);
      continue;
    }
    for (const [l, label] of labels.entries()) inferred.scores[t * labels.length + l] = hit.scores[label] ?? 0;
    inferred.truncated[t] = hit.truncated ? 1 : 0;
    inferred.tokens[t] = hit.tokens;
  }
  inferred.cacheHits = n - misses.length;
  if (misses.length === 0) return inferred;
  const asked = selectPacked(
    encodings,
    misses.map((t) => tagged[t] as number),
  );
  // Queued whole once the batcher has room. `while`: every waiting partition wakes at once, and
  // the first to run may fill the queue again. An abandoned chunk queues nothing.
  while (!classifier.hasCapacity) await untilAborted(classifier.whenCapacity(), signal);
  if (signal.aborted) throw new AbandonedChunkError();
  const results = await classifier.classifyPacked(asked, signal);
  for (const [k, t] of misses.entries()) {
    inferred.scores.set(results.scores.subarray(k * labels.length, (k + 1) * labels.length), t * labels.length);
    inferred.truncated[t] = asked.truncated[k] as number;
    inferred.tokens[t] = (asked.starts[k + 1] as number) - (asked.starts[k] as number);
    if (cache) {
      inferred.cacheWrites.push({
        textHash: hashes[tagged[t] as number] as string,
        result: classifiedAt(results, asked, k, labels),
      });
    }
  }
  return inferred;
}

/**
 * The languages of the messages to tag that need identifying (`input.detectLanguage`), by text,
 * from `identifyAll`; undefined when there is none to identify or no `identifyAll`, or when it
 * failed (the events then identify in process: a language is never worth a chunk).
 */
export function identifyLanguages(
  tagged: readonly MessageItem[],
  mode: DetectLanguage,
  identifyAll: ((texts: readonly string[]) => Promise<Identified[]>) | undefined,
): Promise<Map<string, Identified> | undefined> {
  if (!identifyAll || mode === "off") return Promise.resolve(undefined);
  const texts = new Set<string>();
  for (const { decoded } of tagged) {
    if (mode === "always" || !decoded.lang) texts.add(decoded.text);
  }
  if (texts.size === 0) return Promise.resolve(undefined);
  const list = [...texts];
  return identifyAll(list).then(
    (found) => new Map(list.map((text, i) => [text, found[i] as Identified])),
    () => undefined,
  );
}

/** A cached entry is trusted only if it has this model's shape (a cache is not a source of truth). */
function isClassified(value: unknown, labels: readonly string[]): value is Classified {
  const v = value as Partial<Classified> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.label === "string" &&
    labels.includes(v.label) &&
    typeof v.score === "number" &&
    typeof v.scores === "object" &&
    typeof v.truncated === "boolean"
  );
}
