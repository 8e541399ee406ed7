/**
 * What the chunk pipeline asks of its collaborators, defined here so that it depends on no concrete
 * one: the model (`SentimentClassifier` fits) and the de-duplication (`dedup/dedup.ts`'s boundary,
 * which `RedisDeduplicator` fits). The Kafka job hands in the real ones, the tests fakes.
 */
import type { ClaimingDeduplicator } from "../dedup/dedup.js";
import type { SentimentEvent } from "../events/sentiment-event.js";
import type { Classified } from "../inference/classifier.js";

export type { ClaimingDeduplicator, Classified };

/** The model as a chunk uses it: its texts encoded in one call, then each submitted to the shared batcher. */
export interface ChunkClassifier<Encoded = unknown> {
  readonly model: { readonly name: string; readonly revision: string; readonly labels: readonly string[] };
  /** The batcher takes more now; else wait for `whenCapacity` (backpressure). */
  readonly hasCapacity: boolean;
  whenCapacity(): Promise<void>;
  encodeAll(texts: readonly string[]): Promise<Encoded[]>;
  submit(encoded: Encoded, signal?: AbortSignal): Promise<Classified>;
}

/** What a chunk tags with: one model and the de-duplication keyed by its revision. */
export interface ChunkTagging {
  classifier: ChunkClassifier;
  dedup: ClaimingDeduplicator | undefined;
}

/** A message tagged and committed, with its text (what a shadow model is compared on). */
export interface CommittedTag {
  text: string;
  event: SentimentEvent;
}
