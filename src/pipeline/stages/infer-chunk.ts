/**
 * Infer: a result for each message to tag, from the result cache where an identical normalised
 * text was tagged before (one MGET), from the shared batcher otherwise; and, beside it, the
 * languages to identify, elsewhere (the language thread).
 */
import { type CachedResult, textHash } from "../../dedup/result-cache.js";
import { AbandonedChunkError } from "../../errors/errors.js";
import { classifiedAt } from "../../inference/packed.js";
import type { DetectLanguage } from "../../language/event-language.js";
import type { Identified } from "../../language/identify.js";
import { untilAborted } from "../abandoned.js";
import type { ChunkTagging, Classified } from "../ports.js";
import type { MessageItem } from "./items.js";

export interface Inferred<T> {
  results: Map<T, Classified>;
  cacheHits: number;
  cacheWrites: CachedResult<Classified>[];
}

/**
 * Waiting for batcher capacity holds this partition's chunk, which is what stops the consumer
 * fetching it: backpressure. An aborted `signal` gives the chunk up (AbandonedChunkError).
 */
export async function inferChunk<T extends MessageItem>(
  tagged: T[],
  signal: AbortSignal,
  { classifier, dedup }: ChunkTagging,
): Promise<Inferred<T>> {
  const cache = dedup?.results;
  const texts = tagged.map((item) => item.decoded.text);
  const hashes = cache ? texts.map(textHash) : [];
  const cached = cache ? await cache.getCached(hashes) : [];
  const results = new Map<T, Classified>();
  const misses: number[] = [];
  for (const [i, item] of tagged.entries()) {
    const hit = cached[i];
    if (hit !== undefined && isClassified(hit, classifier.model.labels)) results.set(item, hit);
    else misses.push(i);
  }
  const cacheHits = tagged.length - misses.length;
  if (misses.length > 0) {
    // The chunk's texts in one call, tokenized off the event loop, then queued whole once the
    // batcher has room (an abandoned chunk queues nothing).
    const encoded = await untilAborted(classifier.encodePacked(misses.map((i) => texts[i] as string)), signal);
    // `while`: every waiting partition wakes at once, and the first to run may fill the queue again.
    while (!classifier.hasCapacity) await untilAborted(classifier.whenCapacity(), signal);
    if (signal.aborted) throw new AbandonedChunkError();
    const inferred = await classifier.classifyPacked(encoded, signal);
    for (const [n, i] of misses.entries()) {
      results.set(tagged[i] as T, classifiedAt(inferred, encoded, n, classifier.model.labels));
    }
  }
  const cacheWrites: CachedResult<Classified>[] = [];
  if (cache) {
    for (const i of misses) {
      cacheWrites.push({ textHash: hashes[i] as string, result: results.get(tagged[i] as T) as Classified });
    }
  }
  return { results, cacheHits, cacheWrites };
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
