/**
 * The output contract, `sentiment.v1`: one event per input message. The zod schema is the source;
 * `schemas/sentiment.v1.json` is generated from it (`npm run docs`) for consumers in other languages.
 */
import { z } from "zod";
import { ModelError } from "../errors/errors.js";
import { LANGUAGE_TAG, MAX_LANGUAGE_TAG_LENGTH } from "../language/languages.js";

export const SENTIMENT_EVENT_SCHEMA = "sentiment.v1";

/** The labels of the model's config.json that a v1 event carries. */
export const SENTIMENT_LABELS = ["positive", "neutral", "negative"] as const;

/** Whether two models' labels are the same set, in whatever order their config.json lists them. */
export function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join() === [...b].sort().join();
}

/** The model's labels must be the three of `sentiment.v1`. */
export function checkSentimentLabels(labels: readonly string[]): void {
  if (!sameLabels(labels, SENTIMENT_LABELS)) {
    throw new ModelError(
      `sentiment.v1 events need the labels ${SENTIMENT_LABELS.join(", ")}; the model has ${labels.join(", ")}`,
    );
  }
}

const probability = z.number().min(0).max(1);
/** What a `lang` can be: an input's value of another shape is ignored (`inputLanguageTag`). */
const languageTag = z.string().max(MAX_LANGUAGE_TAG_LENGTH).regex(LANGUAGE_TAG);

/** Where an event's `lang` came from. */
export const LANGUAGE_SOURCES = ["input", "detected"] as const;

export const sentimentEventSchema = z
  .strictObject({
    schema: z.literal(SENTIMENT_EVENT_SCHEMA),
    id: z
      .string()
      .min(1)
      .describe(
        "The message id. From the record key when `input.idFromKey` is on and the record has one (a UTF-8 key as it is; any other key as `base64:` and the standard base64 of its bytes); else from the input's id field (a JSON number as written, every digit kept, so a number and a string with the same digits give the same id); else `sha256:` and 32 hex digits of a hash of the text. An id longer than `input.maxIdBytes` UTF-8 bytes is replaced by `sha256:` and the 64 lowercase hex digits of the SHA-256 of its UTF-8 bytes.",
      ),
    source: z
      .strictObject({
        topic: z.string().describe("Input topic; for the file source `file:<path>` or `stdin`."),
        partition: z.number().int().min(0),
        offset: z
          .string()
          .describe("Offset of the input record (a decimal string, as Kafka's are); line number for files."),
        timestamp: z
          .string()
          .describe(
            'Time of the input record, ISO 8601, or "" when the record has no time or its time is outside what a date can hold (`timestampMs` then still has it).',
          ),
        timestampMs: z
          .string()
          .regex(/^-?[0-9]+$/)
          .describe(
            'Time of the input record in milliseconds since the epoch, a decimal string kept as the record gives it (Kafka\'s timestamp); "-1" when it has none. The time of reading for files.',
          ),
      })
      .describe("Where the input came from."),
    sentiment: z.strictObject({
      label: z.enum(SENTIMENT_LABELS).describe("The most probable label."),
      score: probability.describe("Its probability."),
      scores: z
        .strictObject({ positive: probability, neutral: probability, negative: probability })
        .describe("Every label's probability; they sum to 1."),
    }),
    lang: languageTag
      .optional()
      .describe(
        "The post's language: the input's language field as written, spaces around it dropped, when it has a language tag's shape (`langSource: input`), or detected from the text, ISO 639-1 or `und` when the detector cannot tell (`langSource: detected`). Absent only with `input.detectLanguage: off` and no usable language field.",
      ),
    langSource: z
      .enum(LANGUAGE_SOURCES)
      .optional()
      .describe("Where `lang` came from: the input's language field, or language identification. Present with `lang`."),
    langConfidence: probability
      .optional()
      .describe(
        "With a detected `lang`: how sure the detector is, 0 to 1 (the share of the deciding script, or how far the best language's n-gram score is ahead of the second's). Not a calibrated probability.",
      ),
    langInput: languageTag
      .optional()
      .describe(
        "With `input.detectLanguage: always`: the input's own language field (when it has a language tag's shape), kept when `lang` is the detected one.",
      ),
    languageSupported: z
      .boolean()
      .optional()
      .describe(
        "Whether `lang` is one of the model's 12 training languages (en ar de es fr ja zh id hi it ms pt; a code as `en-US` counts by its primary language). False for `und` and any other language: the scores are less trustworthy there. Present with `lang`.",
      ),
    truncated: z.boolean().describe("The text was longer than the model's maximum length and its end was not read."),
    model: z.strictObject({ name: z.string(), revision: z.string() }).describe("The model that tagged the text."),
    processedAt: z.string().describe("When the event was made, ISO 8601."),
    input: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        "The input JSON object, when passthrough is on. Numbers keep the digits they were written with when a double cannot hold them exactly.",
      ),
  })
  .describe("A sentiment-tagged message.");

export type SentimentEvent = z.infer<typeof sentimentEventSchema>;

/** A model as events name it. */
export type ModelIdentity = SentimentEvent["model"];

/** A model's answer (its argmax label, that label's score, every label's score) as an event's `sentiment`. */
export function eventSentiment(result: {
  label: string;
  score: number;
  scores: Readonly<Record<string, number>>;
}): SentimentEvent["sentiment"] {
  const { positive = 0, neutral = 0, negative = 0 } = result.scores;
  return {
    label: result.label as SentimentEvent["sentiment"]["label"],
    score: result.score,
    scores: { positive, neutral, negative },
  };
}

export function sentimentEventJsonSchema(): Record<string, unknown> {
  return {
    $id: `urn:sentiment-worker:schema:${SENTIMENT_EVENT_SCHEMA}`,
    ...z.toJSONSchema(sentimentEventSchema, { io: "output" }),
  };
}
