/**
 * Chunks prepared and built on the main thread (`runtime.processingThreads` 0, and the unit
 * tests): the same steps as on a processing thread, without the trips. Texts are encoded by the
 * model's own tokenizer (its thread), languages identified by `identifyAll` when given.
 */
import type { Config } from "../../config/index.js";
import { sharedLanguageIdentifier } from "../../language/event-language.js";
import type { Identified } from "../../language/identify.js";
import { identifyLanguages } from "../stages/infer-chunk.js";
import type { ChunkPartition, ChunkRecord } from "../stages/items.js";
import { type ChunkModel, ChunkState, type ChunkWork, type PreparedChunk, type PrepareOptions } from "./chunk-work.js";

export class InProcessChunkWork implements ChunkWork {
  constructor(
    private readonly input: Config["input"],
    /** Identifies a chunk's languages elsewhere (the language thread); default: here, per event. */
    private readonly identifyAll?: (texts: readonly string[]) => Promise<Identified[]>,
  ) {}

  async prepare(
    partition: ChunkPartition,
    records: readonly ChunkRecord[],
    model: ChunkModel,
    options: PrepareOptions,
  ): Promise<PreparedChunk> {
    const state = new ChunkState(partition, records, this.input, options.schemas);
    const encodings = await model.encodePacked(state.texts());
    const { identifyAll } = this;
    return {
      ...state.prepared(encodings, options),
      build: async (request) => {
        const tagged = Array.from(request.tagged, (m) => state.messages[m] as (typeof state.messages)[number]);
        const identified = await identifyLanguages(tagged, request.detectLanguage, identifyAll);
        return state.build(
          request,
          identified ? (text) => identified.get(text) ?? sharedLanguageIdentifier().identify(text) : undefined,
        );
      },
      release: () => {},
    };
  }

  async close(): Promise<void> {}
}
