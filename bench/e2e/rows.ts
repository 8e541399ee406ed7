/** The end-to-end benchmark's rows and what each run of one records. */
import type { BatchSummary } from "./batches.js";
import type { CpuSplit } from "./cpu.js";
import type { BenchMode } from "./modes.js";
import type { DeviceRun } from "./simulated.js";

export interface ModelChoice {
  key: "full" | "tiny" | "noop" | "sim";
  label: string;
  dir: string;
  messages: number;
  /** Worker configuration this model needs. */
  flags: Record<string, string>;
  /** The simulated device's batch time and size (the `sim` rows): its capacity is size × 1000 ÷ ms posts a second. */
  device?: { batchMs: number; batchSize: number };
  /** Modes it runs in (undefined: every one asked for). */
  modes?: readonly string[];
}

export interface Checked {
  /** Outputs read (or inputs consumed), distinct ids among them, and messages produced: equal when each came once. */
  events: number;
  distinct: number;
  expected: number;
}

export interface ThroughputRun extends Checked {
  messagesPerSecond: number;
  seconds: number;
  /** Start → consuming (the worker: model loaded, in the group), and → the warm-up's output read. */
  startSeconds: number;
  readySeconds: number;
  cpu: CpuSplit;
  /** The reader thread's CPU over the window, left out of the process's. */
  readerCpu: number;
  device?: DeviceRun;
  /** The model's batches over the window (the worker rows). */
  batches?: BatchSummary;
}

/** `classifyAll` alone on a row's texts: its rate and the CPU it took a message (every thread of this process). */
export interface InferenceOnlyRun {
  messagesPerSecond: number;
  cpuMicrosPerMessage: number;
  /** CPU µs a message by thread name. */
  threads: Record<string, number>;
  batches?: BatchSummary;
}

export interface LatencyRun extends Checked {
  rate: number;
  producedRate: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  samples: number;
}

export interface RowSpec {
  label: string;
  mode: BenchMode;
  /** The ceilings run no model. */
  model?: ModelChoice;
  messages: number;
  /** The ceiling a worker row is read against: the one of the same delivery. */
  ceiling?: string;
}
export interface Row extends RowSpec {
  throughput: ThroughputRun[];
  latency: Map<number, LatencyRun[]>;
}
