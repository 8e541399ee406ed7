/**
 * Worker processes, steady traffic and the final tally for chaos runs (test/integration/chaos-*.test.ts
 * and scripts/chaos.mjs, which imports the compiled copy): a fleet of `run` children that can be
 * SIGKILLed or SIGTERMed and started again, each child's stderr appended to its own log file.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kafka, Message, Producer } from "kafkajs";
import { REPO_ROOT } from "./fixtures.js";
import { countOf } from "./worker-setup.js";

const CLI = join(REPO_ROOT, "dist/src/cli/main.js");
const MIN_AGE_FOR_SIGTERM_MS = 3000;

export interface Exit {
  slot: number;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Slot {
  child: ChildProcess;
  startedAt: number;
  exited: Promise<Exit>;
  /** Set while we are the ones stopping it, so its exit is not counted as a crash. */
  stopping: boolean;
}

/** Children of every fleet not stopped yet: SIGKILLed if the test process exits without stop(). */
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export class WorkerFleet {
  /** Starts after the first, by us or after a crash. */
  restarts = 0;
  /** Exits nobody asked for (a crash): respawned, and kept here for the verdict. */
  readonly crashes: Exit[] = [];
  private readonly slots: Array<Slot | undefined>;
  private closed = false;

  constructor(
    private readonly flags: Record<string, string>,
    size: number,
    /** Child i appends its stderr to `<logDir>/worker-<i>.log`. */
    private readonly logDir: string,
  ) {
    this.slots = Array.from({ length: size }, () => undefined);
  }

  get size(): number {
    return this.slots.length;
  }

  logFile(slot: number): string {
    return join(this.logDir, `worker-${slot}.log`);
  }

  start(): void {
    for (let i = 0; i < this.slots.length; i++) this.spawn(i);
  }

  pid(slot: number): number | undefined {
    return this.slots[slot]?.child.pid;
  }

  pids(): number[] {
    return this.slots.flatMap((s) => (s?.child.pid ? [s.child.pid] : []));
  }

  /** Resident memory of each running child, in KiB (VmRSS), or undefined when it is gone. */
  rssKb(): Array<number | undefined> {
    return this.slots.map((s) => (s?.child.pid ? vmRssKb(s.child.pid) : undefined));
  }

  /**
   * Sends `signal` to child `slot` and waits for its exit; past `timeoutMs` it is SIGKILLed and the
   * result says so (`forced`). The slot is empty afterwards: `respawn` fills it.
   */
  async kill(
    slot: number,
    signal: NodeJS.Signals,
    timeoutMs = 30_000,
  ): Promise<Exit & { ms: number; forced: boolean }> {
    const s = this.slots[slot];
    if (!s) throw new Error(`worker ${slot} is not running`);
    s.stopping = true;
    // A SIGTERM before Node has loaded the CLI (its first few hundred ms) kills it by the default
    // handler, not with exit 0: give a fresh child its start first (the worker stops at once then).
    // Never a negative delay, which Node 23 and later warn about on stderr.
    if (signal === "SIGTERM") await sleep(Math.max(0, MIN_AGE_FOR_SIGTERM_MS - (Date.now() - s.startedAt)));
    const started = Date.now();
    s.child.kill(signal);
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      s.child.kill("SIGKILL");
    }, timeoutMs);
    const exit = await s.exited;
    clearTimeout(timer);
    this.slots[slot] = undefined;
    return { ...exit, ms: Date.now() - started, forced };
  }

  respawn(slot: number): void {
    if (this.slots[slot]) throw new Error(`worker ${slot} is still running`);
    this.restarts++;
    this.spawn(slot);
  }

  /** SIGTERMs every running child and waits (SIGKILL past `timeoutMs`); no more respawns after a crash. */
  async stop(timeoutMs = 30_000): Promise<Array<Exit & { ms: number; forced: boolean }>> {
    this.closed = true;
    const running = this.slots.flatMap((s, i) => (s ? [i] : []));
    return Promise.all(running.map((i) => this.kill(i, "SIGTERM", timeoutMs)));
  }

  private spawn(slot: number): void {
    const args = Object.entries(this.flags).flatMap(([k, v]) => [`--${k}`, v]);
    const log = openSync(this.logFile(slot), "a");
    // A minimal environment: the worker refuses unknown SW_ variables, and ours are not for it.
    const child = spawn(process.execPath, [CLI, "run", ...args], {
      stdio: ["ignore", "ignore", log],
      env: { PATH: process.env.PATH ?? "" },
    });
    closeSync(log);
    live.add(child);
    const s: Slot = {
      child,
      startedAt: Date.now(),
      stopping: false,
      exited: new Promise<Exit>((resolve) => {
        child.once("exit", (code, signal) => {
          live.delete(child);
          const exit = { slot, pid: child.pid ?? -1, code, signal };
          if (!s.stopping) {
            // Nobody asked it to stop: a crash. Start it again, as an orchestrator would.
            this.crashes.push(exit);
            this.slots[slot] = undefined;
            if (!this.closed) this.respawn(slot);
          }
          resolve(exit);
        });
      }),
    };
    this.slots[slot] = s;
  }
}

export function vmRssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Produces `message(i)` for i = 0, 1, … at `perSecond`, in a burst every `tickMs`, until stop().
 * A failed send is retried with the same messages for up to 3 minutes (a broker restart), so the
 * input may hold a message twice; the tally reads the input topic to know.
 */
export class Traffic {
  sent = 0;
  /** Sends that failed and were retried. */
  retries = 0;
  private running = true;
  private readonly done: Promise<void>;
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly perSecond: number,
    private readonly message: (i: number) => Message,
    private readonly tickMs = 50,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.done = this.loop();
    // Reported by stop(); not an unhandled rejection meanwhile.
    this.done.catch(() => {});
  }

  private async loop(): Promise<void> {
    await this.producer.connect();
    const started = Date.now();
    try {
      while (this.running) {
        // Catch up to the schedule, so a slow send does not lower the rate.
        const due = Math.floor(((Date.now() - started) / 1000) * this.perSecond);
        if (due > this.sent) {
          const messages = Array.from({ length: Math.min(due - this.sent, 2000) }, (_, j) =>
            this.message(this.sent + j),
          );
          const giveUpAt = Date.now() + 180_000;
          for (;;) {
            try {
              await this.producer.send({ topic: this.topic, messages });
              break;
            } catch (error) {
              this.retries++;
              if (Date.now() > giveUpAt) throw error;
              await sleep(500);
            }
          }
          this.sent += messages.length;
        }
        await sleep(this.tickMs);
      }
    } finally {
      await this.producer.disconnect().catch(() => {});
    }
  }

  /** Stops after the send in progress; resolves with the number of messages sent. */
  async stop(): Promise<number> {
    this.running = false;
    await this.done;
    return this.sent;
  }
}

export interface Tally {
  /** Distinct ids on the input. */
  sent: number;
  lost: string[];
  doubled: string[];
  /** Ids of events that no input record has. */
  unexpected: string[];
  /** Ids the input holds more than once (a producer retry), reported apart. */
  inputDuplicates: number;
}

/**
 * Compares the ids on the input with those on the output (both as a read_committed reader sees
 * them): an id of the input with no event is lost, one with more events than input records is
 * doubled.
 */
export function tally(inputIds: string[], outputIds: string[]): Tally {
  const inputs = countOf(inputIds);
  const outputs = countOf(outputIds);
  const lost = [...inputs.keys()].filter((id) => !outputs.has(id));
  // More events than records: never right. An id the input holds twice may give one event
  // (de-duplication) or two (Redis restarted in between): both are fine.
  const doubled = [...outputs].filter(([id, n]) => n > (inputs.get(id) ?? n)).map(([id]) => id);
  return {
    sent: inputs.size,
    lost,
    doubled,
    unexpected: [...outputs.keys()].filter((id) => !inputs.has(id)),
    inputDuplicates: [...inputs.values()].filter((n) => n > 1).length,
  };
}
