/** Lines of a file or stdin (`-`), without their line ends; a last line without one counts too. */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

export function readLines(path: string): AsyncIterable<string> {
  const input = path === "-" ? process.stdin : createReadStream(path, { encoding: "utf8" });
  return createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
}
