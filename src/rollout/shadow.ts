/**
 * Shadow mode: a candidate model tags a sample of the messages the primary has already tagged and
 * committed, and its answers are compared with the primary's. It runs after the commit, from its
 * own bounded queue and its own classifier (batcher and ONNX session), so it never delays or
 * changes the primary's events; when it falls behind, sampled messages are skipped and counted.
 * It publishes nothing to the output topic; with a shadow topic its events go there (best effort).
 * The candidate may be a zero-shot teacher (an NLI model asked one hypothesis per label): the same
 * agreement, by the candidate labels, at several times the student's cost per text.
 */
import { eventSentiment, type SentimentEvent } from "../events/sentiment-event.js";
import type { Classified } from "../inference/classifier.js";
import type { TextClassifier } from "../inference/text-classifier.js";
import { AgreementStats } from "./agreement.js";

/** A committed message: its text and the primary's event. */
export interface ShadowItem {
  text: string;
  event: SentimentEvent;
}

export type SkipReason = "queue_full" | "failed" | "stopped";

export interface ShadowOptions {
  /** Share of messages to compare, 0–100, chosen by a hash of the id (the same ids on every worker). */
  samplePercent: number;
  /** Sampled messages waiting; more are skipped. */
  queueCapacity: number;
  /** The candidate's events, when they go to a topic; a failure is counted, never retried. */
  publish?: (events: SentimentEvent[]) => Promise<void>;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** Texts handed to the candidate at once. */
const CHUNK = 64;

/** FNV-1a of the id, in 0..9999: a stable sample, so every worker picks the same ids. */
export function sampleBucket(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 10_000;
}

export function isSampled(id: string, samplePercent: number): boolean {
  return sampleBucket(id) < Math.round(samplePercent * 100);
}

export class ShadowRunner {
  /** Since the start, or since the primary last changed (`comparingWith`). */
  stats: AgreementStats;
  readonly skipped: Record<SkipReason, number> = { queue_full: 0, failed: 0, stopped: 0 };
  /** Candidate events that could not be published to the shadow topic. */
  publishFailures = 0;
  private queue: ShadowItem[] = [];
  private running: Promise<void> | undefined;
  private stopped = false;
  private primaryRevision: string | undefined;

  constructor(
    readonly candidate: TextClassifier,
    readonly options: ShadowOptions,
  ) {
    this.stats = new AgreementStats(candidate.model.labels);
  }

  /**
   * Compares with the primary of this revision only from now on, its statistics from zero: after a
   * model switch the old numbers were about another pair (events of batches still finishing on the
   * old model are left out).
   */
  comparingWith(primaryRevision: string): void {
    if (this.primaryRevision !== undefined && this.primaryRevision !== primaryRevision) {
      this.stats = new AgreementStats(this.candidate.model.labels);
    }
    this.primaryRevision = primaryRevision;
  }

  get samplePercent(): number {
    return this.options.samplePercent;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Takes the sampled items of a committed chunk; returns at once (the work runs later). */
  offer(items: readonly ShadowItem[]): void {
    if (this.stopped) return;
    for (const item of items) {
      if (this.primaryRevision !== undefined && item.event.model.revision !== this.primaryRevision) continue;
      if (!isSampled(item.event.id, this.options.samplePercent)) continue;
      if (this.queue.length >= this.options.queueCapacity) this.skipped.queue_full++;
      else this.queue.push(item);
    }
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves once everything offered so far was compared (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops taking work, skips what waits, lets the chunk in flight finish, closes the candidate. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.skipped.stopped += this.queue.length;
    this.queue = [];
    await this.running;
    await this.candidate.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const chunk = this.queue.splice(0, CHUNK);
      let results: Classified[];
      try {
        results = await this.candidate.classifyAll(chunk.map((item) => item.text));
      } catch (error) {
        this.skipped.failed += chunk.length;
        this.options.log?.("the shadow model failed on a chunk", { err: error, texts: chunk.length });
        continue;
      }
      const events: SentimentEvent[] = [];
      for (const [i, item] of chunk.entries()) {
        if (this.primaryRevision !== undefined && item.event.model.revision !== this.primaryRevision) continue;
        const result = results[i] as Classified;
        this.stats.add(item.event.lang, item.event.sentiment, result);
        if (this.options.publish) events.push(this.shadowEvent(item.event, result));
      }
      if (events.length > 0) {
        await this.options.publish?.(events).catch((error: unknown) => {
          this.publishFailures += events.length;
          this.options.log?.("could not publish shadow events", { err: error, events: events.length });
        });
      }
    }
  }

  /** The primary's event as the candidate tags it: its sentiment, its model, now. */
  private shadowEvent(event: SentimentEvent, result: Classified): SentimentEvent {
    return {
      ...event,
      sentiment: eventSentiment(result),
      truncated: result.truncated,
      model: { name: this.candidate.model.name, revision: this.candidate.model.revision },
      processedAt: new Date().toISOString(),
    };
  }
}
