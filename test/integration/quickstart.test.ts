/**
 * The README's Kafka quick start, run as written against the local services: the fenced block
 * under the paragraph that starts with `**Kafka**` goes to bash line by line (set -e), from the
 * repository's root. Names are made unique per run, so a rerun or another test cannot satisfy it:
 * the topic `posts` and the group `tagger` in the text, and the output and dead-letter topics and
 * the de-duplication key prefix through the worker's environment (SW_*). The services line runs as
 * written when this checkout's services are the ones running (`npm test` in CI); else the test's
 * KAFKA_BROKERS and REDIS_URL stand for it. SW_QUICKSTART_FILE reads another Markdown file.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import { uniqueName } from "../helpers/names.js";
import type { TestServices } from "../helpers/services.js";

let services: TestServices;
openForFile((opened) => {
  ({ services } = opened);
});

const source = process.env.SW_QUICKSTART_FILE ?? join(REPO_ROOT, "README.md");

/** The first fenced block after the paragraph that starts with `marker`. */
export function fencedBlockAfter(markdown: string, marker: string): string[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.startsWith(marker));
  assert.ok(start >= 0, `${source}: no paragraph starting with ${marker}`);
  const open = lines.findIndex((l, i) => i > start && /^```/.test(l));
  const close = lines.findIndex((l, i) => i > open && /^```\s*$/.test(l));
  assert.ok(open > start && close > open, `${source}: no fenced block after ${marker}`);
  return lines.slice(open + 1, close);
}

describe("the README's Kafka quick start", () => {
  it("works from top to bottom on the local services: topic made, posts in, worker run, events and dead letters read back", async () => {
    const block = fencedBlockAfter(readFileSync(source, "utf8"), "**Kafka**");
    const names = { posts: uniqueName("qs-posts"), tagger: uniqueName("qs-tagger") };
    const ownServices = spawnSync(process.execPath, [join(REPO_ROOT, "scripts/services.mjs"), "status"], {
      encoding: "utf8",
    });
    const servicesLine = /services\.mjs up/;
    assert.ok(
      block.some((l) => servicesLine.test(l)),
      "the block starts the local services",
    );
    const script = block
      .map((line) =>
        servicesLine.test(line) && ownServices.status !== 0 ? ": # services from the test's environment" : line,
      )
      .map((line) => line.replace(/\bposts\b(?!\.jsonl)/g, names.posts).replace(/\btagger\b/g, names.tagger));
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      KAFKA_BROKERS: services.kafkaBrokers.join(","),
      REDIS_URL: services.redisUrl,
      SW_KAFKA_OUTPUT_TOPIC: uniqueName("qs-events"),
      SW_KAFKA_DEAD_LETTER_TOPIC: uniqueName("qs-dead"),
      SW_DEDUP_KEY_PREFIX: `${uniqueName("qs")}:`,
      SW_TELEMETRY_HTTP_PORT: "0",
    };
    // Its own process group, so that a failed line does not leave the backgrounded worker running.
    const child = spawn("bash", ["-e", "-c", script.join("\n")], { cwd: REPO_ROOT, env, detached: true });
    const killGroup = () => {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
    };
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr = `${stderr}${d.toString("utf8")}`.slice(-30_000);
    });
    const timer = setTimeout(killGroup, 240_000);
    const status = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    clearTimeout(timer);
    killGroup();
    assert.equal(status, 0, `the quick start failed:\n${script.join("\n")}\n--- stderr:\n${stderr}`);

    const lines = stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const events = lines.filter((l) => l.schema === "sentiment.v1");
    assert.deepEqual(events.map((e) => e.id).sort(), [
      "demo-1",
      "demo-2",
      "demo-3",
      "demo-4",
      "demo-5",
      "demo-6",
      "demo-7",
      "demo-8",
    ]);
    for (const e of events) assert.equal((e.source as { topic: string }).topic, names.posts);
    const deadLetters = lines.filter((l) => "code" in l);
    assert.deepEqual(
      deadLetters.map((d) => [d.code, JSON.parse(d.value as string).id]),
      [["EMPTY_TEXT", "demo-9"]],
    );
    assert.match(stderr, /produced 10 records to /);
  });
});
