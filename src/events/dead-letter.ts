/** What the worker says about a record it cannot process; the record itself travels unchanged. */

export const DEAD_LETTER_CODES = ["INVALID_JSON", "INVALID_UTF8", "SCHEMA", "EMPTY_TEXT", "TOO_LARGE"] as const;
export type DeadLetterCode = (typeof DEAD_LETTER_CODES)[number];

export interface SourceCoordinates {
  topic: string;
  partition: number;
  offset: string;
  /** ISO 8601. */
  timestamp: string;
}

export interface DeadLetter {
  code: DeadLetterCode;
  message: string;
  source: SourceCoordinates;
}
