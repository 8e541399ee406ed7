/**
 * Build: the chunk's outputs in offset order, an event for each tagged message and a dead letter
 * for each record that cannot be one (undecodable, or an event larger than the output takes).
 * The record format is the sink's (`OutputFormat`): this stage knows only what goes where.
 */
import type { DeadLetterCode, SourceCoordinates } from "../../events/dead-letter.js";
import type { ModelIdentity, SentimentEvent } from "../../events/sentiment-event.js";
import type { DetectLanguage } from "../../language/event-language.js";
import type { Identified } from "../../language/identify.js";
import { buildEvent } from "../build-event.js";
import type { Classified, CommittedTag } from "../ports.js";
import { type EventKind, eventKind } from "../run-counters.js";
import { type ChunkItem, type ChunkRecord, isMessage, type MessageItem } from "./items.js";

/** How outputs are written as records of type `O`, and the largest each output takes. */
export interface OutputFormat<R extends ChunkRecord, O> {
  event(event: SentimentEvent, original: R): O;
  deadLetter(letter: { code: DeadLetterCode; message: string; source: SourceCoordinates }, original: R): O;
  bytes(record: O): number;
  /** The largest event the output takes (its `max.message.bytes`, less a record batch's overhead). */
  maxEventBytes: number;
}

export interface BuildContext<R extends ChunkRecord, O> {
  model: ModelIdentity;
  detectLanguage: DetectLanguage;
  /** Languages identified elsewhere, by text; undefined: identified here, per event. */
  identify: ((text: string) => Identified) | undefined;
  format: OutputFormat<R, O>;
  /** Keep each event with its text (a shadow model compares them). */
  keepTags: boolean;
  /** The events' `processedAt` (default: now). */
  processedAt?: Date | undefined;
}

export interface BuiltChunk<O> {
  events: O[];
  deadLetters: O[];
  eventKinds: EventKind[];
  deadLetterCodes: DeadLetterCode[];
  /** Source times of the events, for the latency after the commit. */
  timestamps: number[];
  tags: CommittedTag[];
}

export function buildChunk<R extends ChunkRecord, O>(
  items: readonly ChunkItem<R>[],
  results: ReadonlyMap<MessageItem<R>, Classified>,
  context: BuildContext<R, O>,
): BuiltChunk<O> {
  const { format } = context;
  const built: BuiltChunk<O> = {
    events: [],
    deadLetters: [],
    eventKinds: [],
    deadLetterCodes: [],
    timestamps: [],
    tags: [],
  };
  const deadLetter = (code: DeadLetterCode, message: string, item: ChunkItem<R>) => {
    built.deadLetters.push(format.deadLetter({ code, message, source: item.source }, item.record));
    built.deadLetterCodes.push(code);
  };
  for (const item of items) {
    if (item.decoded.kind === "dead") {
      deadLetter(item.decoded.code, item.decoded.message, item);
      continue;
    }
    const result = isMessage(item) ? results.get(item) : undefined;
    if (!isMessage(item) || result === undefined) continue;
    const { decoded, record, source } = item;
    const event = buildEvent(
      decoded,
      source,
      result,
      context.model,
      context.processedAt ?? new Date(),
      context.detectLanguage,
      context.identify,
    );
    const output = format.event(event, record);
    const bytes = format.bytes(output);
    if (bytes > format.maxEventBytes) {
      // The broker would refuse it for ever (passthrough of a large record, a huge key).
      deadLetter(
        "OUTPUT_TOO_LARGE",
        `the event would be ${bytes} bytes, more than the output topic takes (${format.maxEventBytes}, from its max.message.bytes)`,
        item,
      );
      continue;
    }
    built.events.push(output);
    built.eventKinds.push(eventKind(event));
    if (context.keepTags) built.tags.push({ text: decoded.text, event });
    const time = Number(record.timestamp);
    if (source.timestamp !== "" && time > 0) built.timestamps.push(time);
  }
  return built;
}
