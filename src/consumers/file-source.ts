/**
 * The embedded default source: a JSONL (or text) file, or stdin, one record per line. Lines are
 * split as bytes, so a line that is not UTF-8 reaches the decoder as it is (INVALID_UTF8) instead
 * of being repaired with replacement characters. Coordinates stand in for Kafka's: topic
 * `file:<path>` or `stdin`, partition 0, offset = line number from 0, timestamp = when the line was
 * read. Blank lines are skipped.
 */
import { createReadStream } from "node:fs";
import type { InputRecord } from "../events/input-record.js";
import { recordTimestamp } from "../events/record-timestamp.js";

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** The lines of a byte stream, without their `\n` or `\r\n`; a last line without one counts too. */
export async function* byteLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of input) {
    let data = rest.length ? Buffer.concat([rest, Buffer.from(chunk)]) : Buffer.from(chunk);
    let at = data.indexOf(NEWLINE);
    while (at >= 0) {
      const end = at > 0 && data[at - 1] === CARRIAGE_RETURN ? at - 1 : at;
      yield data.subarray(0, end);
      data = data.subarray(at + 1);
      at = data.indexOf(NEWLINE);
    }
    rest = Buffer.from(data);
  }
  if (rest.length) yield rest;
}

function isBlank(line: Buffer): boolean {
  return line.every((byte) => byte === 0x20 || byte === 0x09 || byte === CARRIAGE_RETURN);
}

export async function* fileRecords(path: string): AsyncGenerator<InputRecord> {
  const input = path === "-" ? process.stdin : createReadStream(path);
  const topic = path === "-" ? "stdin" : `file:${path}`;
  let offset = 0;
  for await (const line of byteLines(input)) {
    const lineNo = offset++;
    if (isBlank(line)) continue;
    yield {
      key: null,
      value: line,
      source: { topic, partition: 0, offset: String(lineNo), ...recordTimestamp(Date.now()) },
    };
  }
}
