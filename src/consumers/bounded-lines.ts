/**
 * The lines of a byte stream, cut as bytes (a UTF-8 character split across chunks stays whole, as
 * no chunk is decoded), without their `\n` or `\r\n`; a last line without `\n` counts too and keeps
 * a trailing `\r`. Linear: each chunk is scanned once with indexOf, and a line spread over chunks is
 * a list of slices joined once at its end, never a buffer copied again for every chunk. Bounded: a
 * line longer than `maxBytes` is not kept past the bound; it comes out as its length only, and the
 * next line starts after its `\n`.
 */

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export type Line = { kind: "line"; value: Buffer } | { kind: "tooLarge"; length: number };

export async function* boundedLines(input: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<Line> {
  // The line so far: its slices (dropped once it is over the bound), its length and its last byte.
  let slices: Buffer[] = [];
  let length = 0;
  let lastByte = -1;
  const end = (crlf: boolean): Line => {
    const size = crlf && lastByte === CARRIAGE_RETURN ? length - 1 : length;
    const line: Line =
      size > maxBytes
        ? { kind: "tooLarge", length: size }
        : {
            kind: "line",
            value: (slices.length === 1 ? (slices[0] as Buffer) : Buffer.concat(slices)).subarray(0, size),
          };
    slices = [];
    length = 0;
    lastByte = -1;
    return line;
  };
  for await (const chunk of input) {
    const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    let start = 0;
    while (start < data.length) {
      const at = data.indexOf(NEWLINE, start);
      const stop = at < 0 ? data.length : at;
      if (stop > start) {
        length += stop - start;
        lastByte = data[stop - 1] as number;
        // One byte past the bound is kept: it may be the `\r` of a `\r\n`.
        if (length <= maxBytes + 1) slices.push(data.subarray(start, stop));
        else slices = [];
      }
      if (at < 0) break;
      yield end(true);
      start = at + 1;
    }
  }
  if (length > 0) yield end(false);
}
