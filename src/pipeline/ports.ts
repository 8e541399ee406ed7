/**
 * What the chunk pipeline asks of its collaborators, defined here so that it depends on no concrete
 * one: the model (`SentimentClassifier` fits) and the de-duplication (`dedup/dedup.ts`'s boundary,
 * which `RedisDeduplicator` fits). The Kafka job hands in the real ones, the tests fakes.
 */
import type { ClaimingDeduplicator } from "../dedup/dedup.js";
import type { SentimentEvent } from "../events/sentiment-event.js";
import type { Classified } from "../inference/classifier.js";
import type { PackedEncodings, PackedResults } from "../inference/packed.js";

export type { ClaimingDeduplicator, Classified, PackedEncodings, PackedResults };

/**
 * The model as a chunk uses it: its texts encoded in one call, then queued at once in the shared
 * batcher (packed: one call per chunk, not one per message).
 */
export interface ChunkClassifier {
  readonly model: {
    readonly name: string;
    readonly revision: string;
    readonly labels: readonly string[];
    /** Its tokenizer (a processing thread loads its own copy). */
    readonly tokenizerPath: string;
    readonly maxLength: number;
  };
  /** The batcher takes more now; else wait for `whenCapacity` (backpressure). */
  readonly hasCapacity: boolean;
  whenCapacity(): Promise<void>;
  encodePacked(texts: readonly string[]): Promise<PackedEncodings>;
  classifyPacked(encodings: PackedEncodings, signal?: AbortSignal): Promise<PackedResults>;
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
