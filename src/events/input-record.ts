/** A record as every source hands it to decoding: its bytes and where it came from. */
import type { SourceCoordinates } from "./dead-letter.js";

export interface InputRecord {
  key: Buffer | null;
  /** null is a tombstone. */
  value: Buffer | null;
  source: SourceCoordinates;
  /** How many headers the record carried; absent where records have none (files, stdin). */
  headerCount?: number | undefined;
}
