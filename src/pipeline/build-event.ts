/** A tagged message as its `sentiment.v1` event. */
import type { SourceCoordinates } from "../events/dead-letter.js";
import {
  eventSentiment,
  type ModelIdentity,
  SENTIMENT_EVENT_SCHEMA,
  type SentimentEvent,
} from "../events/sentiment-event.js";
import type { Classified } from "../inference/classifier.js";
import { type DetectLanguage, eventLanguage } from "../language/event-language.js";
import type { Identified } from "../language/identify.js";
import type { DecodedMessage } from "./decode.js";

export function buildEvent(
  message: DecodedMessage,
  source: SourceCoordinates,
  result: Classified,
  model: ModelIdentity,
  processedAt: Date,
  detectLanguage: DetectLanguage = "missing",
  /** The text's language when already identified (elsewhere, e.g. on the language thread); default: identified here. */
  identify?: (text: string) => Identified,
): SentimentEvent {
  return {
    schema: SENTIMENT_EVENT_SCHEMA,
    id: message.id,
    source,
    sentiment: eventSentiment(result),
    // An undefined `identify` takes eventLanguage's default: the process's own identifier.
    ...eventLanguage(message.lang, message.text, detectLanguage, identify),
    truncated: result.truncated,
    model: { name: model.name, revision: model.revision },
    processedAt: processedAt.toISOString(),
    ...(message.input ? { input: message.input } : {}),
  };
}
