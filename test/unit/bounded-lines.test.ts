/**
 * The file source's line splitter: lines cut as bytes, `\n` and `\r\n` endings, a line over the
 * bound given as its length only (and not held in memory), the same lines however the bytes are
 * chunked; and the file source's line numbers around an oversize line.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { boundedLines, type Line } from "../../src/consumers/bounded-lines.js";
import { fileRecords, maxLineBytes } from "../../src/consumers/file-source.js";
import { seededRandom } from "../helpers/random.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const MiB = 1024 * 1024;

async function* chunks(...parts: Array<Buffer | string>): AsyncGenerator<Buffer | string> {
  yield* parts;
}

async function lines(input: AsyncIterable<Buffer | string>, maxBytes: number): Promise<Array<string | number>> {
  const out: Array<string | number> = [];
  for await (const line of boundedLines(input, maxBytes)) {
    out.push(line.kind === "line" ? line.value.toString("latin1") : line.length);
  }
  return out;
}

/** What the splitter must give, computed on the whole input at once (strings: kept lines, numbers: lengths). */
function reference(bytes: Buffer, maxBytes: number): Array<string | number> {
  const parts = bytes.toString("latin1").split("\n");
  const last = parts.pop() as string;
  const out = parts.map((p) => (p.endsWith("\r") ? p.slice(0, -1) : p));
  if (last !== "") out.push(last);
  return out.map((l) => (l.length > maxBytes ? l.length : l));
}

/** `bytes` cut into chunks of 1 to `most` bytes. */
function* randomCuts(bytes: Buffer, most: number, random: () => number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * most);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function* fromSync(items: Iterable<Buffer>): AsyncGenerator<Buffer> {
  yield* items;
}

describe("bounded lines", () => {
  it("gives a line over the bound in the middle as its length, with the lines around it whole", async () => {
    const long = "x".repeat(25);
    assert.deepEqual(await lines(chunks(`first\n${long.slice(0, 7)}`, `${long.slice(7)}\nlast\n`), 10), [
      "first",
      25,
      "last",
    ]);
    // The bytes after the `\n` that ends it, in the same chunk, start the next line.
    assert.deepEqual(await lines(chunks("a\n", "y".repeat(30), "y".repeat(30), "\r\nb\r\n"), 10), ["a", 60, "b"]);
  });

  it("gives a line over the bound at the start, then reads on", async () => {
    assert.deepEqual(await lines(chunks("z".repeat(11), "\nok\n"), 10), [11, "ok"]);
    assert.deepEqual(await lines(chunks(`${"z".repeat(50)}\n\n`), 10), [50, ""]);
  });

  it("gives a last line over the bound without a newline as its length", async () => {
    assert.deepEqual(await lines(chunks("ok\n", "q".repeat(6), "q".repeat(6)), 10), ["ok", 12]);
  });

  it("keeps a line of exactly the bound, with or without `\\r\\n`, and refuses one byte more", async () => {
    const ten = "0123456789";
    assert.deepEqual(await lines(chunks(`${ten}\n`), 10), [ten]);
    assert.deepEqual(await lines(chunks(`${ten}\r`, "\n"), 10), [ten], "the \\r of a \\r\\n is not part of the line");
    assert.deepEqual(await lines(chunks(`${ten}`), 10), [ten], "the last line, without a newline");
    assert.deepEqual(await lines(chunks(`${ten}a\n`), 10), [11]);
    assert.deepEqual(await lines(chunks(`${ten}\r\r\n`), 10), [11], "only the last \\r is part of the ending");
    assert.deepEqual(await lines(chunks(`${ten}\r`), 10), [11], "without a newline, a last \\r stays in the line");
  });

  it("keeps empty lines, `\\r\\n` endings and a last line without newline as the whole-input split does", async () => {
    assert.deepEqual(await lines(chunks("\n\r\na\r\n\nb"), 10), ["", "", "a", "", "b"]);
    assert.deepEqual(await lines(chunks(""), 10), []);
  });

  it("gives the same lines however the input is chunked, down to one byte at a time", async () => {
    const random = seededRandom(21);
    const pieces = ["", "\r", "a", "é", "€", "😀", "x".repeat(9), "y".repeat(10), "z".repeat(11), "w".repeat(40)];
    for (let round = 0; round < 200; round++) {
      const text = Array.from({ length: 30 }, () => {
        const piece = pieces[Math.floor(random() * pieces.length)] as string;
        return piece + (random() < 0.5 ? "\n" : random() < 0.5 ? "\r\n" : "");
      }).join("");
      const bytes = Buffer.from(text, "utf8");
      const expected = reference(bytes, 10);
      assert.deepEqual(await lines(fromSync(randomCuts(bytes, 1, random)), 10), expected, `round ${round}, 1 byte`);
      assert.deepEqual(await lines(fromSync(randomCuts(bytes, 16, random)), 10), expected, `round ${round}`);
    }
  });

  it("keeps a UTF-8 character split across chunks whole", async () => {
    const text = "héllo €uro 😀 ünïcode";
    const bytes = Buffer.from(`${text}\n`, "utf8");
    for (let cut = 1; cut < bytes.length; cut++) {
      const got: Line[] = [];
      for await (const line of boundedLines(chunks(bytes.subarray(0, cut), bytes.subarray(cut)), 100)) got.push(line);
      assert.equal(got.length, 1);
      assert.equal(got[0]?.kind === "line" && got[0].value.toString("utf8"), text, `cut at byte ${cut}`);
    }
  });

  it("holds no more than the bound of a 64 MiB line", async () => {
    const bound = MiB;
    const chunk = 64 * 1024;
    let peak = 0;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    async function* input(): AsyncGenerator<Buffer> {
      yield Buffer.from("good\n");
      for (let n = 0; n < 1024; n++) {
        // What the splitter still holds of the line before this chunk: collected first, and a turn
        // of the event loop for the freeing of array buffers to finish; what was not freed yet is
        // at most the 8 chunks since the last sample.
        if (n % 8 === 7) {
          gc();
          await new Promise((resolve) => setImmediate(resolve));
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
        }
        yield Buffer.alloc(chunk, 0x61);
      }
      yield Buffer.from("\nalso good\n");
    }
    // Speed is not asserted here (docs/events.md has the figures); the old splitter, a copy per
    // chunk, also held the whole line (214 MiB here).
    assert.deepEqual(await lines(input(), bound), ["good", 64 * MiB, "also good"]);
    assert.ok(peak < bound + MiB, `held ${(peak / MiB).toFixed(1)} MiB of the line (bound 1 MiB)`);
  });
});

describe("the file source around an oversize line", () => {
  it("numbers every line, blank and oversize ones included, and gives the oversize one as a TOO_LARGE dead letter", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "sw-lines-"));
    const path = join(dir, "in.jsonl");
    const bound = maxLineBytes(1000);
    assert.equal(bound, MiB, "1 MiB unless input.maxTextBytes asks for more");
    assert.equal(maxLineBytes(1_000_000), 6_000_000 + 64 * 1024, "a text of input.maxTextBytes, every byte escaped");
    const big = `{"text":"${"a".repeat(bound)}"}`;
    writeFileSync(path, `{"text":"one"}\r\n\n${big}\r\n   \n{"text":"two"}`);
    const seen: string[] = [];
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for await (const line of fileRecords(path, bound)) {
      if (line.kind === "record") {
        assert.equal(line.record.source.topic, `file:${path}`);
        seen.push(`${line.record.source.offset} ${line.record.value?.toString()}`);
      } else {
        assert.equal(line.deadLetter.code, "TOO_LARGE");
        assert.match(line.deadLetter.message, new RegExp(`^the line has ${big.length} bytes, more than the ${bound} `));
        seen.push(`${line.deadLetter.source.offset} dead`);
      }
    }
    assert.deepEqual(seen, ['0 {"text":"one"}', "2 dead", '4 {"text":"two"}']);
  });
});
