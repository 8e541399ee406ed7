/**
 * Rolling worker failures: three worker processes (exactly-once, Redis de-duplication) share a
 * 12-partition topic under steady traffic, and every few seconds one of them, in turn, is SIGKILLed
 * or SIGTERMed (alternately) and started again. Afterwards a read_committed reader must see every
 * id exactly once, the group must reach every partition's end, and each SIGTERM must end in exit 0.
 *
 * CHAOS_SECONDS sets the traffic time (default 60, for CI); CHAOS_KILL_EVERY_MS the kill period.
 * Not SW_...: the worker refuses unknown SW_ variables (and its children get a minimal env anyway).
 * Each child's stderr goes to worker-<n>.log in a temp dir, kept (and named) when the test fails.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { readCommittedExactly } from "../helpers/chaos-read.js";
import { Traffic, tally, WorkerFleet } from "../helpers/chaos-workers.js";
import { tinyTexts } from "../helpers/fixtures.js";
import { openForFile } from "../helpers/integration.js";
import type { KafkaTestClient } from "../helpers/kafka.js";
import type { TestServices } from "../helpers/services.js";
import { eventIds, workerSetup } from "../helpers/worker-setup.js";

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 60);
const KILL_EVERY_MS = Number(process.env.CHAOS_KILL_EVERY_MS ?? 5000);
const PER_SECOND = 250;
const WORKERS = 3;
/** Catch-up after the last kill: a SIGKILLed member holds its partitions for the session timeout. */
const CATCH_UP_MS = 90_000;
const texts = tinyTexts();

// Last resort: a hung worker or broker must not hang CI (children are SIGKILLed on exit).
const lastResort = setTimeout(
  () => {
    process.stderr.write("chaos-rolling.test: still running long past its budget, exiting\n");
    process.exit(1);
  },
  SECONDS * 1000 + 240_000,
);
lastResort.unref();

let services: TestServices;
let client: KafkaTestClient;

openForFile((opened) => {
  ({ services, client } = opened);
});

describe("rolling worker failures under steady traffic", { timeout: SECONDS * 1000 + 200_000 }, () => {
  it("keeps every id exactly once, no partition stuck, and a SIGTERMed worker exits 0", async () => {
    const { input, output, flags } = await workerSetup(client, services, {
      partitions: 12,
      flags: {
        "kafka.drainTimeoutMs": "3000",
        // Start, stop and rebalance lines (no per-batch lines): what a failure needs to be read.
        "telemetry.logLevel": "info",
      },
    });
    const groupId = flags["kafka.groupId"] as string;
    const logDir = mkdtempSync(join(tmpdir(), "sw-chaos-rolling-"));
    const fleet = new WorkerFleet(flags, WORKERS, logDir);
    const kills: Array<{ slot: number; signal: string; code: number | null; ms: number; forced: boolean }> = [];
    let passed = false;
    fleet.start();
    const traffic = new Traffic(client.kafka, input, PER_SECOND, (i) => ({
      key: `user-${i % 97}`,
      value: JSON.stringify({ id: `r-${i}`, text: texts[i % texts.length] }),
    }));
    try {
      const trafficEnd = Date.now() + SECONDS * 1000;
      for (let k = 0; Date.now() + KILL_EVERY_MS < trafficEnd; k++) {
        await sleep(KILL_EVERY_MS);
        const slot = k % WORKERS;
        const signal = k % 2 === 0 ? "SIGKILL" : "SIGTERM";
        const exit = await fleet.kill(slot, signal);
        kills.push({ slot, signal, code: exit.code, ms: exit.ms, forced: exit.forced });
        fleet.respawn(slot);
      }
      await sleep(Math.max(0, trafficEnd - Date.now()));
      const sent = await traffic.stop();
      const caughtUpFrom = Date.now();
      await client.waitForGroupAtEnd(groupId, input, CATCH_UP_MS);
      const catchUpMs = Date.now() - caughtUpFrom;
      const finalStops = await fleet.stop();

      // The input is written without transactions; the output is read by an exact read_committed
      // reader, since kafkajs's lets aborted records through (see chaos-read.ts).
      const [inputs, committed] = await Promise.all([
        client.readAll(input, { count: sent, timeoutMs: 60_000 }),
        readCommittedExactly(client.kafka, output, 60_000),
      ]);
      const outputs = committed.records;
      const result = tally(eventIds(inputs), eventIds(outputs));
      process.stderr.write(
        `chaos-rolling: sent ${sent} (${result.sent} ids), events ${outputs.length}, ${kills.length} kills, ` +
          `${fleet.restarts} restarts, crashes ${fleet.crashes.length}, caught up in ${catchUpMs} ms, ` +
          `aborted output records ${committed.aborted}, still open ${committed.open}; ` +
          `kills ${JSON.stringify(kills)}\n`,
      );
      const terms = [...kills.filter((k) => k.signal === "SIGTERM"), ...finalStops.map((s) => ({ ...s }))];
      assert.ok(
        kills.some((k) => k.signal === "SIGTERM"),
        "at least one SIGTERM during the traffic",
      );
      assert.deepEqual(
        {
          lost: result.lost.slice(0, 20),
          lostCount: result.lost.length,
          doubled: result.doubled.slice(0, 20),
          doubledCount: result.doubled.length,
          unexpected: result.unexpected.slice(0, 20),
          openTransactionRecords: committed.open,
          crashes: fleet.crashes,
          badTerms: terms.filter((t) => t.code !== 0 || t.forced),
        },
        {
          lost: [],
          lostCount: 0,
          doubled: [],
          doubledCount: 0,
          unexpected: [],
          openTransactionRecords: 0,
          crashes: [],
          badTerms: [],
        },
      );
      passed = true;
    } finally {
      await traffic.stop().catch(() => {});
      await fleet.stop();
      if (passed) rmSync(logDir, { recursive: true, force: true });
      else process.stderr.write(`chaos-rolling: worker logs kept in ${logDir}\n`);
    }
  });
});
