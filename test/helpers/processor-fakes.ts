/**
 * What the chunk pipeline's unit tests share: a Kafka job's configuration, quiet telemetry, an
 * answer, and fakes of the model and de-duplication behind the interfaces the pipeline defines.
 */
import { after, before } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import type { ClaimingDeduplicator, ClaimOutcome } from "../../src/dedup/dedup.js";
import type { Classified } from "../../src/inference/classifier.js";
import type { ChunkClassifier, PackedEncodings, PackedResults } from "../../src/pipeline/ports.js";
import { startTelemetry, type Telemetry } from "../../src/telemetry/index.js";

export const kafkaJobConfig = loadConfig({
  env: {},
  flags: { "input.source": "kafka", "kafka.brokers": "127.0.0.1:9092", "kafka.inputTopics": "posts" },
});

/** Telemetry with no server and no logs, started before the file's tests and shut down after; read it inside a test. */
export function quietTelemetry(): { readonly current: Telemetry } {
  const holder: { current: Telemetry | undefined } = { current: undefined };
  before(async () => {
    holder.current = await startTelemetry(
      { ...kafkaJobConfig.telemetry, httpPort: 0, logLevel: "silent" },
      { version: "test" },
    );
  });
  after(async () => {
    await holder.current?.shutdown();
  });
  return holder as { readonly current: Telemetry };
}

export const POSITIVE: Classified = {
  label: "positive",
  score: 0.9,
  scores: { positive: 0.9, neutral: 0.05, negative: 0.05 },
  truncated: false,
  tokens: 3,
};

/** Answers every text at once, or holds every answer until `release()` (a slow model). */
export class FakeClassifier implements ChunkClassifier {
  readonly model: { name: string; revision: string; labels: string[]; tokenizerPath: string; maxLength: number };
  hasCapacity = true;
  /** Set by whoever closes the model (a model switch retires it). */
  closed = false;
  readonly submitted: string[] = [];
  private held: Array<() => void> | undefined;
  constructor(revision = "r1") {
    // No tokenizer file: chunks are prepared in the process, where `encodePacked` encodes.
    this.model = {
      name: "fake",
      revision,
      labels: ["positive", "neutral", "negative"],
      tokenizerPath: "",
      maxLength: 0,
    };
  }
  hold(): void {
    this.held = [];
  }
  release(): void {
    for (const resolve of this.held ?? []) resolve();
    this.held = undefined;
  }
  /** Each text's encoding is its index in `texts` (packed), so `classifyPacked` knows what it got. */
  private texts: string[] = [];
  async encodePacked(texts: readonly string[]): Promise<PackedEncodings> {
    const first = this.texts.length;
    this.texts.push(...texts);
    const starts = Int32Array.from({ length: texts.length + 1 }, (_, i) => i);
    const ids = Int32Array.from(texts, (_, i) => first + i);
    return { ids, starts, truncated: new Uint8Array(texts.length) };
  }
  async whenCapacity(): Promise<void> {}
  classifyPacked(encodings: PackedEncodings): Promise<PackedResults> {
    for (const id of encodings.ids) this.submitted.push(this.texts[id] as string);
    const { labels } = this.model;
    const scores = Float64Array.from({ length: encodings.ids.length * labels.length }, (_, i) => {
      return POSITIVE.scores[labels[i % labels.length] as string] as number;
    });
    const held = this.held;
    if (!held) return Promise.resolve({ scores });
    return new Promise((resolve) => held.push(() => resolve({ scores })));
  }
}

/** Claims in memory, confirmed and released ids kept in order. */
export class FakeDedup implements ClaimingDeduplicator {
  readonly confirmed: string[] = [];
  readonly released: string[] = [];
  results: ClaimingDeduplicator["results"] = undefined;
  /** Answer "seen" for confirmed ids, as Redis does (off: every id is new). */
  remembers = false;
  /** Errors the next claims fail with, one per call (a store that does not answer). */
  readonly failures: Error[] = [];
  async claimDetailed(ids: readonly string[]): Promise<ClaimOutcome[]> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    const claimed = new Set<string>();
    return ids.map((id) => {
      const seen = this.remembers && (this.confirmed.includes(id) || claimed.has(id));
      claimed.add(id);
      return seen ? "seen" : "new";
    });
  }
  async confirm(ids: readonly string[]): Promise<void> {
    this.confirmed.push(...ids);
  }
  async release(ids: readonly string[]): Promise<void> {
    this.released.push(...ids);
  }
}
