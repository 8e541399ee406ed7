/**
 * The embedded default source: a JSONL (or text) file, or stdin, one record per line. Coordinates
 * stand in for Kafka's: topic `file:<path>` or `stdin`, partition 0, offset = line number from 0.
 * Blank lines are not records and are skipped.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { InputRecord } from "../pipeline/decode.js";

export async function* fileRecords(path: string): AsyncGenerator<InputRecord> {
  const input = path === "-" ? process.stdin : createReadStream(path);
  const topic = path === "-" ? "stdin" : `file:${path}`;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let offset = 0;
  for await (const line of lines) {
    const lineNo = offset++;
    if (line.trim() === "") continue;
    yield {
      key: null,
      value: Buffer.from(line, "utf8"),
      source: { topic, partition: 0, offset: String(lineNo), timestamp: new Date().toISOString() },
    };
  }
}
