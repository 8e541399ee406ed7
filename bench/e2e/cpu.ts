/**
 * Where a run's CPU went, split three ways: the worker's JavaScript thread (what `startWorker`
 * runs on, here the benchmark's main thread), the rest of this process
 * (the inference thread and ONNX Runtime's pool, the benchmark's reader thread), and the rest of
 * the machine (the broker, Redis, anything else running). The figures come from /proc, so they
 * are Linux only (NaN elsewhere, but for the main thread's event-loop time).
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

export interface CpuSplit {
  /** CPU seconds over the window. */
  mainThread: number;
  restOfProcess: number;
  restOfMachine: number;
  wallSeconds: number;
  /** Cores of the machine the window was taken on. */
  cores: number;
}

/** Busy jiffies of all cores and the tick rate's divisor (USER_HZ, 100 on Linux). */
function machineSeconds(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = line.trim().split(/\s+/).map(Number);
    return (user + nice + system + irq + softirq) / 100;
  } catch {
    return Number.NaN;
  }
}

function coreCount(): number {
  try {
    return readFileSync("/proc/stat", "utf8")
      .split("\n")
      .filter((l) => /^cpu\d/.test(l)).length;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of this process's main thread (its task id is the process id), or, off Linux, the
 * time its event loop was active (an upper bound: it counts waiting for a core as busy).
 */
function mainThreadSeconds(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return performance.eventLoopUtilization().active / 1000;
  }
}

/** Starts a window; the returned function ends it. */
export function cpuWindow(): () => CpuSplit {
  const main = mainThreadSeconds();
  const usage = process.cpuUsage();
  const machine = machineSeconds();
  const start = performance.now();
  return () => {
    const wallSeconds = (performance.now() - start) / 1000;
    const mainThread = mainThreadSeconds() - main;
    const used = process.cpuUsage(usage);
    const process_ = (used.user + used.system) / 1e6;
    return {
      mainThread,
      restOfProcess: Math.max(0, process_ - mainThread),
      restOfMachine: Math.max(0, machineSeconds() - machine - process_),
      wallSeconds,
      cores: coreCount(),
    };
  };
}
