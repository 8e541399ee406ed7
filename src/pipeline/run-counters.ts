/** What a run did, for its summary line and its metrics (counted when committed, not when read). */
import type { DeadLetterCode } from "../events/dead-letter.js";
import type { SentimentEvent } from "../events/sentiment-event.js";
import { metricLanguage } from "../language/languages.js";

/** An event's bounded language (one of the model's 12, `other`, `und`) and its label, for the metrics. */
export interface EventKind {
  lang: string;
  label: string;
}

export function eventKind(event: Pick<SentimentEvent, "lang" | "sentiment">): EventKind {
  return { lang: metricLanguage(event.lang), label: event.sentiment.label };
}

export class RunCounters {
  records = 0;
  events = 0;
  duplicates = 0;
  tombstones = 0;
  /** Messages answered from the result cache instead of the model. */
  cacheHits = 0;
  /** Records whose language field was not a language tag, so detection decided (`inputLanguageTag`). */
  inputLangIgnored = 0;
  readonly deadLetters: Partial<Record<DeadLetterCode, number>> = {};
  /** Events by language and label: `events` is their sum (count events with `countEvents`). */
  readonly eventsByKind = new Map<string, EventKind & { count: number }>();
  private readonly startedAt = performance.now();

  /** Committed events, by kind (`count` of each, default 1). */
  countEvents(kinds: Iterable<EventKind & { count?: number }>): void {
    for (const { lang, label, count = 1 } of kinds) {
      const key = `${lang}\u0000${label}`;
      const entry = this.eventsByKind.get(key);
      if (entry) entry.count += count;
      else this.eventsByKind.set(key, { lang, label, count });
      this.events += count;
    }
  }

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
      inputLangIgnored: this.inputLangIgnored,
      elapsedSeconds: Number(elapsedS.toFixed(3)),
      recordsPerSecond: Math.round(this.records / Math.max(elapsedS, 1e-9)),
    };
  }
}
