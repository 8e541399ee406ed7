/**
 * `sentiment-worker classify` and `run` on the embedded default (JSONL in, events out, no broker),
 * as a user runs them: the built CLI as a child process on the tiny fixture model.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { sentimentEventSchema } from "../../src/events/sentiment-event.js";
import { REPO_ROOT, TINY_MODEL_DIR, tinyParity } from "../helpers/fixtures.js";

const cli = join(REPO_ROOT, "dist/src/cli/main.js");
const parity = tinyParity();
const byText = new Map(parity.items.map((item) => [item.text, item]));

function sw(args: string[], input?: Buffer | string) {
  const result = spawnSync(process.execPath, [cli, ...args, "--model.dir", TINY_MODEL_DIR], {
    ...(input === undefined ? {} : { input: Buffer.from(input) }),
    env: { PATH: process.env.PATH ?? "" },
  });
  return { status: result.status, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8") };
}

/** `sw` with the child's peak resident set in bytes, as it reports it at exit (test/helpers/peak-rss.ts). */
function swPeakRss(args: string[], input?: Buffer) {
  const dir = mkdtempSync(join(tmpdir(), "sw-rss-"));
  const report = join(dir, "peak-rss");
  const preload = pathToFileURL(join(import.meta.dirname, "../helpers/peak-rss.js")).href;
  try {
    const result = spawnSync(process.execPath, ["--import", preload, cli, ...args, "--model.dir", TINY_MODEL_DIR], {
      ...(input === undefined ? {} : { input }),
      env: { PATH: process.env.PATH ?? "", PEAK_RSS_FILE: report },
    });
    return {
      status: result.status,
      stdout: result.stdout.toString("utf8"),
      stderr: result.stderr.toString("utf8"),
      peakRss: Number(readFileSync(report, "utf8")),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertScoresMatch(scores: Record<string, number>, text: string): void {
  const expected = byText.get(text)?.probs;
  assert.ok(expected, `no reference for ${text}`);
  for (const label of parity.labels) {
    const diff = Math.abs((scores[label] as number) - (expected[label] as number));
    assert.ok(diff < 1e-5, `${label} of "${text.slice(0, 30)}" differs by ${diff}`);
  }
}

describe("sentiment-worker classify", () => {
  it("prints all three labels with scores, highest first, for each text given", () => {
    const texts = parity.items
      .filter((i) => ["en", "ar", "ja"].includes(i.lang))
      .map((i) => i.text)
      .slice(0, 3);
    const result = sw(["classify", ...texts]);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, texts.length);
    lines.forEach((line, i) => {
      const ranked = JSON.parse(line) as Array<{ label: string; score: number }>;
      assert.deepEqual(ranked.map((r) => r.label).sort(), ["negative", "neutral", "positive"]);
      assert.ok(
        (ranked[0]?.score ?? 0) >= (ranked[1]?.score ?? 0) && (ranked[1]?.score ?? 0) >= (ranked[2]?.score ?? 0),
      );
      assertScoresMatch(Object.fromEntries(ranked.map((r) => [r.label, r.score])), texts[i] as string);
    });
  });

  it("reads lines from stdin when no text is given, and answers in their order", () => {
    const texts = parity.items
      .filter((i) => !i.text.includes("\n") && i.text.trim() !== "")
      .map((i) => i.text)
      .slice(0, 80);
    const result = sw(["classify"], `${texts.join("\n")}\n`);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, texts.length);
    lines.forEach((line, i) => {
      const ranked = JSON.parse(line) as Array<{ label: string; score: number }>;
      assertScoresMatch(Object.fromEntries(ranked.map((r) => [r.label, r.score])), texts[i] as string);
    });
  });

  it("fails clearly when the model directory does not exist", () => {
    const result = spawnSync(process.execPath, [cli, "classify", "hi", "--model.dir", "/nonexistent/model"], {
      encoding: "utf8",
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /the model directory \/nonexistent\/model does not exist/);
  });
});

describe("sentiment-worker run (file source)", () => {
  const good = parity.items.filter((i) => i.text.trim() !== "" && !i.text.includes("\n"));
  const long = good.find((i) => i.truncated);

  it("tags every good record once, in input order, and sends each bad one to the dead letters with its code", () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-run-"));
    const lines: Buffer[] = [];
    const expectedIds: string[] = [];
    good.slice(0, 120).forEach((item, n) => {
      lines.push(Buffer.from(JSON.stringify({ id: item.id, text: item.text, lang: item.lang })));
      expectedIds.push(item.id);
      // Every tenth message comes again later with the same id: it must not be tagged twice.
      if (n % 10 === 0) lines.push(Buffer.from(JSON.stringify({ id: item.id, text: "again" })));
    });
    const bad: Array<[string, Buffer]> = [
      ["INVALID_JSON", Buffer.from('{"id": "x1", "text": ')],
      ["INVALID_UTF8", Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0xff, 0xfe, 0x7d])],
      ["SCHEMA", Buffer.from(JSON.stringify({ id: "x3", body: "no text field" }))],
      ["EMPTY_TEXT", Buffer.from(JSON.stringify({ id: "x4", text: " \t " }))],
      ["TOO_LARGE", Buffer.from(JSON.stringify({ id: "x5", text: "a".repeat(5000) }))],
    ];
    for (const [i, [, line]] of bad.entries()) lines.splice(7 + i * 13, 0, line);
    const input = join(dir, "in.jsonl");
    writeFileSync(input, Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")])));
    const dead = join(dir, "dead.jsonl");

    const result = sw(["run", "--input.path", input, "--output.deadLetterPath", dead, "--input.maxTextBytes", "4096"]);
    assert.equal(result.status, 0, result.stderr);

    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => sentimentEventSchema.parse(JSON.parse(l)));
    assert.deepEqual(
      events.map((e) => e.id),
      expectedIds,
      "one event per id, in input order",
    );
    for (const event of events) {
      const item = good.find((i) => i.id === event.id);
      assertScoresMatch(event.sentiment.scores, item?.text ?? "");
      assert.equal(event.truncated, item?.truncated);
      assert.equal(event.lang, item?.lang);
      assert.equal(event.source.topic, `file:${input}`);
      assert.equal(
        lines[Number(event.source.offset)]?.toString(),
        JSON.stringify({ id: item?.id, text: item?.text, lang: item?.lang }),
      );
      assert.equal(event.model.revision, `sha256:${readManifestSha().slice(0, 12)}`);
    }

    const letters = readFileSync(dead, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).deadLetter);
    assert.deepEqual(
      letters.map((l: { code: string }) => l.code),
      bad.map(([code]) => code),
    );
    for (const [i, letter] of letters.entries()) {
      assert.ok(
        lines[Number(letter.source.offset)]?.equals(bad[i]?.[1] as Buffer),
        "the offset points at the bad line",
      );
    }
    const summary = JSON.parse(result.stderr.trim().split("\n").at(-1) ?? "{}").summary;
    assert.equal(summary.records, lines.length);
    assert.equal(summary.events, expectedIds.length);
    assert.equal(summary.duplicatesSkipped, 12);
    assert.equal(summary.deadLetters, bad.length);
  });

  it("ignores a language field that is no language tag (5,000 characters, a lone surrogate, a NUL) and counts it", () => {
    const text = good.find((i) => i.lang === "en" && i.text.length > 40)?.text ?? "";
    const hostile = ["x".repeat(5000), "\ud800", "en\u0000"];
    const lines = [
      ...hostile.map((lang, i) => JSON.stringify({ id: `h-${i}`, text, lang })),
      JSON.stringify({ id: "ok", text, lang: " pt-BR " }),
      JSON.stringify({ id: "none", text }),
    ];
    assert.ok(lines[1]?.includes("\\ud800") && lines[2]?.includes("\\u0000"), "escaped in the input line");
    const result = sw(["run"], `${lines.join("\n")}\n`);
    assert.equal(result.status, 0, result.stderr);
    const written = result.stdout.trim().split("\n");
    const events = written.map((l) => sentimentEventSchema.parse(JSON.parse(l)));
    assert.deepEqual(
      events.map((e) => `${e.id} ${e.lang}/${e.langSource}`),
      ["h-0 en/detected", "h-1 en/detected", "h-2 en/detected", "ok pt-BR/input", "none en/detected"],
    );
    for (const bad of ["x".repeat(100), "\\ud800", "\\u0000"]) assert.ok(!result.stdout.includes(bad), bad);
    // The events of the hostile records are that of the record without a language, but for id, offset and time.
    const rest = ({ id, source, processedAt, ...others }: (typeof events)[number]) => others;
    for (const event of events.slice(0, 3)) assert.deepEqual(rest(event), rest(events[4] as (typeof events)[number]));
    const summary = JSON.parse(result.stderr.trim().split("\n").at(-1) ?? "{}").summary;
    assert.equal(summary.inputLangIgnored, hostile.length);
    assert.equal(summary.events, lines.length);
  });

  it("writes a dead letter the record cannot shape: one line, the worker's code, whatever the record says", () => {
    const forged = [
      '{"deadLetter":{"code":"FAKE","message":"m"}}',
      // V8 quotes the start of this one in its message: escaped, it stays inside the message.
      'x"}},"deadLetter":{"code":"FAKE"}}',
      "sw-error-code: FAKE",
      `{"id":"f","text":"","code":"FAKE","sw-error-code":"FAKE","source":{"topic":"elsewhere"}}`,
    ];
    const result = sw(["run"], `${forged.join("\n")}\n`);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, forged.length + 1, "one line per record, then the summary");
    assert.match(lines[1] ?? "", /Unexpected token 'x', \\"x\\"}},\\"dead/, "quoted, and escaped");
    const letters = lines.slice(0, -1).map((l) => JSON.parse(l).deadLetter);
    assert.deepEqual(
      letters.map((l) => `${Object.keys(l).join(",")} ${l.code} ${l.source.topic}`),
      ["SCHEMA", "INVALID_JSON", "INVALID_JSON", "EMPTY_TEXT"].map((code) => `code,message,source ${code} stdin`),
    );
  });

  it("warns at start-up about a password given as a flag, without showing it", () => {
    const text = good[0]?.text ?? "";
    const result = sw(
      ["run", "--kafka.sasl.mechanism", "plain", "--kafka.sasl.username", "u", "--kafka.sasl.password", "pw-on-argv"],
      `${JSON.stringify({ id: "w1", text })}\n`,
    );
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stderr.trim().split("\n");
    assert.match(
      lines[0] ?? "",
      /^sentiment-worker: warning: --kafka\.sasl\.password .*process list.*SW_KAFKA_SASL_PASSWORD.*configuration file/,
    );
    assert.ok(!result.stderr.includes("pw-on-argv"));
    assert.equal(JSON.parse(lines.at(-1) ?? "{}").summary.events, 1, "the run goes on");
  });

  it("flags a text longer than the model's maximum length as truncated", () => {
    assert.ok(long, "the corpus has a long text");
    const result = sw(["run"], `${JSON.stringify({ text: long.text })}\n`);
    assert.equal(result.status, 0, result.stderr);
    const event = sentimentEventSchema.parse(JSON.parse(result.stdout));
    assert.equal(event.truncated, true);
    assert.match(event.id, /^sha256:[0-9a-f]{32}$/, "no id: a hash of the text");
    assertScoresMatch(event.sentiment.scores, long.text);
  });
});

describe("sentiment-worker run on a 64 MiB line (file and stdin)", () => {
  const MB = 1000 * 1000;
  const [first, second] = parity.items.filter((i) => i.text.trim() !== "" && !i.text.includes("\n"));
  const head = `${JSON.stringify({ id: "before", text: first?.text })}\n{"id":"huge","text":"`;
  const tail = `"}\n${JSON.stringify({ id: "after", text: second?.text })}\n`;
  const hugeLineBytes = Buffer.byteLength(head.split("\n")[1] ?? "") + 64 * 1024 * 1024 + 2;
  let dir = "";
  let input = "";

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sw-huge-"));
    input = join(dir, "in.jsonl");
    const fd = openSync(input, "w");
    writeSync(fd, head);
    const block = Buffer.alloc(1024 * 1024, "a");
    for (let n = 0; n < 64; n++) writeSync(fd, block);
    writeSync(fd, tail);
    closeSync(fd);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Two events and one TOO_LARGE dead letter for the line, read in bounded memory. */
  function assertHugeLineRun(result: ReturnType<typeof swPeakRss>, topic: string): void {
    assert.equal(result.status, 0, result.stderr.slice(-2000));
    // The worker on the tiny model alone peaks near 200 MB; copying the line per chunk took 600 MB.
    assert.ok(result.peakRss > 50 * MB, `a peak RSS of ${result.peakRss} bytes is no measurement`);
    assert.ok(result.peakRss < 400 * MB, `peak RSS ${(result.peakRss / MB).toFixed(0)} MB`);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => sentimentEventSchema.parse(JSON.parse(l)));
    assert.deepEqual(
      events.map((e) => [e.id, e.source.offset]),
      [
        ["before", "0"],
        ["after", "2"],
      ],
    );
    const stderr = result.stderr.trim().split("\n");
    const letters = stderr.filter((l) => l.startsWith('{"deadLetter"')).map((l) => JSON.parse(l).deadLetter);
    assert.equal(letters.length, 1);
    assert.equal(letters[0].code, "TOO_LARGE");
    assert.deepEqual([letters[0].source.topic, letters[0].source.offset], [topic, "1"]);
    // Its length is told; its bytes were never held, so they are not in the dead letter.
    assert.match(letters[0].message, new RegExp(`^the line has ${hugeLineBytes} bytes, more than the 1048576 `));
    assert.deepEqual(JSON.parse(stderr.at(-1) ?? "{}").summary.deadLettersByCode, { TOO_LARGE: 1 });
  }

  it("from a file: two events and one TOO_LARGE dead letter, under 400 MB of RSS", () => {
    assertHugeLineRun(swPeakRss(["run", "--input.path", input]), `file:${input}`);
  });

  it("from stdin: the same bound, the same answer", () => {
    assertHugeLineRun(swPeakRss(["run"], readFileSync(input)), "stdin");
  });

  it("classify on stdin answers a line over the bound with an error in its place", () => {
    const texts = [first?.text ?? "", second?.text ?? ""];
    const result = sw(["classify"], `${texts[0]}\n${"b".repeat(1024 * 1024 + 1)}\r\n${texts[1]}\n`);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, 3);
    assert.deepEqual(JSON.parse(lines[1] ?? "").error, "TOO_LARGE");
    for (const i of [0, 2]) {
      const ranked = JSON.parse(lines[i] ?? "") as Array<{ label: string; score: number }>;
      assertScoresMatch(Object.fromEntries(ranked.map((r) => [r.label, r.score])), texts[i / 2] as string);
    }
  });
});

function readManifestSha(): string {
  const manifest = JSON.parse(readFileSync(join(TINY_MODEL_DIR, "manifest.json"), "utf8"));
  return manifest.files["model.onnx"].sha256 as string;
}
