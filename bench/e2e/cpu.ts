/**
 * Where a run's CPU went: this process (every thread: the worker's JavaScript thread, the
 * inference thread, kafkajs, Redis client) less the benchmark's own reader thread, the worker's
 * main thread alone, and other processes by id (the broker, Redis). Other engineers share the
 * machine, so "the rest of the machine" says nothing of the broker: it is read by its process id.
 * The figures come from /proc, so they are Linux only (NaN elsewhere, but for the process's own).
 */
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** USER_HZ: /proc's clock ticks per second (100 on Linux). */
const TICKS = 100;

/** utime + stime, in seconds, of a /proc stat file (a process's: every thread; a task's: one). */
function statSeconds(path: string): number {
  try {
    // The command name may hold spaces; the fields after it are fixed.
    const fields = readFileSync(path, "utf8").split(") ")[1]?.split(" ") ?? [];
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of the calling thread (a worker thread reads its own). */
export function threadSeconds(): number {
  return statSeconds("/proc/thread-self/stat");
}

/** CPU seconds of this process's main thread (its task id is the process id). */
function mainThreadSeconds(): number {
  return statSeconds(`/proc/self/task/${process.pid}/stat`);
}

export function processSeconds(pid: number): number {
  return statSeconds(`/proc/${pid}/stat`);
}

/** CPU seconds of this process's threads so far, added up by thread name (`comm`: "MainThread", "inference", …). */
function threadsByName(): Map<string, number> {
  const byName = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync("/proc/self/task");
  } catch {
    return byName;
  }
  for (const task of tasks) {
    let name: string;
    try {
      name = readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim();
    } catch {
      continue; // ended meanwhile
    }
    const seconds = statSeconds(`/proc/self/task/${task}/stat`);
    if (Number.isFinite(seconds)) byName.set(name, (byName.get(name) ?? 0) + seconds);
  }
  return byName;
}

export interface CpuSplit {
  /** CPU seconds over the window, every thread of this process. */
  process: number;
  /** Of which the main thread (where `startWorker` runs). */
  mainThread: number;
  /** Other processes by name (e.g. broker, redis). */
  others: Record<string, number>;
  /**
   * This process's CPU seconds by thread name (the worker's threads are named: "inference",
   * "processing", "tokenizer", "language"; ONNX Runtime's own threads take the inference thread's
   * name); a thread that ended within the window is missing.
   */
  threads: Record<string, number>;
  wallSeconds: number;
}

/** Starts a window; the returned function ends it. */
export function cpuWindow(pids: Readonly<Record<string, number>> = {}): () => CpuSplit {
  const usage = process.cpuUsage();
  const main = mainThreadSeconds();
  const threadsBefore = threadsByName();
  const others = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processSeconds(pid)]));
  const start = performance.now();
  return () => {
    const used = process.cpuUsage(usage);
    return {
      process: (used.user + used.system) / 1e6,
      mainThread: mainThreadSeconds() - main,
      others: Object.fromEntries(
        Object.entries(pids).map(([name, pid]) => [name, processSeconds(pid) - (others[name] ?? Number.NaN)]),
      ),
      threads: Object.fromEntries(
        [...threadsByName()].map(([name, seconds]) => [name, seconds - (threadsBefore.get(name) ?? 0)]),
      ),
      wallSeconds: (performance.now() - start) / 1000,
    };
  };
}
