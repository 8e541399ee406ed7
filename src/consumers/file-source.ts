/**
 * The embedded default source: a JSONL (or text) file, or stdin, one record per line. Lines are
 * split as bytes, so a line that is not UTF-8 reaches the decoder as it is (INVALID_UTF8) instead
 * of being repaired with replacement characters. Coordinates stand in for Kafka's: topic
 * `file:<path>` or `stdin`, partition 0, offset = line number from 0, timestamp = when the line was
 * read. Blank lines are skipped. A line over the bound (`maxLineBytes`) is not read into memory:
 * it becomes a TOO_LARGE dead letter with its line number and length, and reading goes on after it.
 */
import { createReadStream } from "node:fs";
import type { DeadLetter } from "../events/dead-letter.js";
import type { InputRecord } from "../events/input-record.js";
import { recordTimestamp } from "../events/record-timestamp.js";
import { boundedLines } from "./bounded-lines.js";

/** Kafka's default `message.max.bytes`: a record value a broker takes unless told otherwise. */
const KAFKA_DEFAULT_RECORD_BYTES = 1024 * 1024;
/** Room in a line for everything besides its text: id (hashed past 4 KiB), lang, passthrough fields. */
const LINE_ROOM_BYTES = 64 * 1024;
/** JSON bytes one UTF-8 byte of text may take: `\u0000` (a 3- or 4-byte character takes 6 or 12). */
const JSON_BYTES_PER_TEXT_BYTE = 6;

/**
 * The longest line the file source reads, in bytes: what a Kafka record value may be by default
 * (1 MiB), or more when `input.maxTextBytes` asks for it: a text of that many UTF-8 bytes, every
 * byte escaped in JSON, and 64 KiB for the rest of the record. So no line that `maxTextBytes`
 * allows is refused for its length, and one that cannot be tagged is never held whole.
 */
export function maxLineBytes(maxTextBytes: number): number {
  return Math.max(KAFKA_DEFAULT_RECORD_BYTES, JSON_BYTES_PER_TEXT_BYTE * maxTextBytes + LINE_ROOM_BYTES);
}

/** The dead-letter message of a line over the bound; the line itself was not kept. */
export function tooLargeLineMessage(length: number, maxBytes: number): string {
  return `the line has ${length} bytes, more than the ${maxBytes} a line may have (1 MiB, or 6 × input.maxTextBytes + 64 KiB if more); it was not kept`;
}

export type FileLine = { kind: "record"; record: InputRecord } | { kind: "dead"; deadLetter: DeadLetter };

export async function* fileRecords(path: string, maxBytes: number): AsyncGenerator<FileLine> {
  const input = path === "-" ? process.stdin : createReadStream(path);
  const topic = path === "-" ? "stdin" : `file:${path}`;
  let offset = 0;
  for await (const line of boundedLines(input, maxBytes)) {
    const lineNo = offset++;
    if (line.kind === "line" && isBlank(line.value)) continue;
    const source = { topic, partition: 0, offset: String(lineNo), ...recordTimestamp(Date.now()) };
    if (line.kind === "tooLarge") {
      yield {
        kind: "dead",
        deadLetter: { code: "TOO_LARGE", message: tooLargeLineMessage(line.length, maxBytes), source },
      };
    } else {
      yield { kind: "record", record: { key: null, value: line.value, source } };
    }
  }
}

function isBlank(line: Buffer): boolean {
  return line.every((byte) => byte === 0x20 || byte === 0x09 || byte === 0x0d);
}
