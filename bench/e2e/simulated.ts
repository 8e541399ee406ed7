/**
 * The simulated accelerator row: a model directory marked as a simulated device (the no-op graph
 * beside it, never run), and how busy the device was at steady state, read from the device's
 * running totals in this process (the worker runs in-process).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SIMULATED_DEVICE_KEY, simulatedDeviceTotals } from "../../src/inference/simulated-device.js";
import { nullModelDir } from "../../test/helpers/model-graphs.js";

/** A temporary model directory: `from`'s tokenizer and labels, a device of `batchMs` per batch of ≤ `batchSize`. */
export function simulatedModelDir(from: string, batchMs: number, batchSize: number): string {
  const dir = nullModelDir(from);
  const configPath = join(dir, "config.json");
  const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  config[SIMULATED_DEVICE_KEY] = { batch_ms: batchMs, max_batch_size: batchSize };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return dir;
}

export interface DeviceRun {
  /** Busy time ÷ wall time between 10% and 90% of the backlog's posts through the device. */
  steadyBusy: number;
  /** The same over the whole run (ramp-up and tail included). */
  wholeBusy: number;
  batches: number;
  /** Posts per batch, mean over the whole run. */
  meanBatch: number;
  /** Posts per batch, mean between 10% and 90% of the backlog's posts (the steady state). */
  steadyBatch: number;
}

interface Sample {
  at: number;
  busyMs: number;
  posts: number;
  batches: number;
}

/** Samples the device every `everyMs` until the returned function ends it, for a backlog of `posts`. */
export function sampleDevice(posts: number, everyMs = 50): () => DeviceRun {
  const take = (): Sample => {
    const at = performance.now();
    const { busyMs, posts, batches } = simulatedDeviceTotals(at);
    return { at, busyMs, posts, batches };
  };
  const start = take();
  const samples: Sample[] = [start];
  const timer = setInterval(() => samples.push(take()), everyMs);
  return () => {
    clearInterval(timer);
    const end = take();
    samples.push(end);
    const through = (fraction: number) => samples.find((s) => s.posts - start.posts >= fraction * posts) ?? end;
    const [from, to] = [through(0.1), through(0.9)];
    const batches = end.batches - start.batches;
    return {
      steadyBusy: to.at > from.at ? (to.busyMs - from.busyMs) / (to.at - from.at) : Number.NaN,
      wholeBusy: (end.busyMs - start.busyMs) / (end.at - start.at),
      batches,
      meanBatch: (end.posts - start.posts) / batches,
      steadyBatch: to.batches > from.batches ? (to.posts - from.posts) / (to.batches - from.batches) : Number.NaN,
    };
  };
}
