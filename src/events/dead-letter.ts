/** What the worker says about a record it cannot process; the record itself travels unchanged. */

export const DEAD_LETTER_CODES = [
  "INVALID_JSON",
  "INVALID_UTF8",
  "SCHEMA",
  "EMPTY_TEXT",
  "TOO_LARGE",
  // The event made of the record is larger than the output topic takes (passthrough of a large record, a huge key).
  "OUTPUT_TOO_LARGE",
  // More headers than `input.maxHeaders` (Kafka): the dead letter goes without them.
  "TOO_MANY_HEADERS",
  // Registry formats (avro, protobuf, json-schema): the value lacks the wire format's zero magic byte and schema id.
  "NO_MAGIC_BYTE",
  // The registry answers that it has no schema with the record's id (a wrong or deleted id).
  "SCHEMA_NOT_FOUND",
  // The payload does not decode with the schema its id names (or that schema is of another type or unusable).
  "INVALID_PAYLOAD",
] as const;
export type DeadLetterCode = (typeof DEAD_LETTER_CODES)[number];

export interface SourceCoordinates {
  topic: string;
  partition: number;
  offset: string;
  /** Time of the record, ISO 8601; "" when a Date cannot hold it (`timestampMs` still has it). */
  timestamp: string;
  /** Time of the record in ms since the epoch, a decimal string as Kafka gives it; "-1" when missing. */
  timestampMs: string;
}

export interface DeadLetter {
  code: DeadLetterCode;
  message: string;
  source: SourceCoordinates;
}
