/**
 * The model's batches over a measured window, as the batcher cut them: how many, posts per batch
 * and padding (padded ÷ real tokens). Inference only and end to end differ in what the batcher is
 * offered (a whole backlog against the chunks in flight), so this says whether end to end's model
 * did the same work a message.
 */
import type { BatchStats } from "../../src/inference/batcher.js";

export interface BatchSummary {
  batches: number;
  postsPerBatch: number;
  /** Padded tokens ÷ real tokens (1: no padding). */
  padding: number;
}

export class BatchTally {
  private batches = 0;
  private posts = 0;
  private real = 0;
  private padded = 0;

  readonly add = (stats: BatchStats): void => {
    this.batches++;
    this.posts += stats.size;
    this.real += stats.realTokens;
    this.padded += stats.paddedTokens;
  };

  /** Starts the window: what was counted before (a warm-up) is dropped. */
  reset(): void {
    this.batches = this.posts = this.real = this.padded = 0;
  }

  summary(): BatchSummary | undefined {
    if (this.batches === 0) return undefined;
    return {
      batches: this.batches,
      postsPerBatch: this.posts / this.batches,
      padding: this.real > 0 ? this.padded / this.real : 1,
    };
  }
}
