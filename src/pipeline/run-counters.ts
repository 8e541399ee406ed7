/** What a run did, for its summary line and its metrics (counted when committed, not when read). */
import type { DeadLetterCode } from "../events/dead-letter.js";

export class RunCounters {
  records = 0;
  events = 0;
  duplicates = 0;
  tombstones = 0;
  /** Messages answered from the result cache instead of the model. */
  cacheHits = 0;
  readonly deadLetters: Partial<Record<DeadLetterCode, number>> = {};
  private readonly startedAt = performance.now();

  deadLetter(code: DeadLetterCode): void {
    this.deadLetters[code] = (this.deadLetters[code] ?? 0) + 1;
  }

  summary(): Record<string, unknown> {
    const elapsedS = (performance.now() - this.startedAt) / 1000;
    const dead = Object.values(this.deadLetters).reduce((a, b) => a + b, 0);
    return {
      records: this.records,
      events: this.events,
      deadLetters: dead,
      deadLettersByCode: this.deadLetters,
      duplicatesSkipped: this.duplicates,
      tombstonesSkipped: this.tombstones,
      resultCacheHits: this.cacheHits,
      elapsedSeconds: Number(elapsedS.toFixed(3)),
      recordsPerSecond: Math.round(this.records / Math.max(elapsedS, 1e-9)),
    };
  }
}
