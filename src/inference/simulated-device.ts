/**
 * A bench-only stand-in for an accelerator (docs/benchmarks.md): each batch of up to
 * `maxBatchSize` posts costs a fixed `batchMs` whatever the texts' lengths, spent waiting (a
 * device works while the host does not), one batch at a time. It gives no real sentiment (every
 * logit is 0). It lets the end-to-end benchmark measure whether the plumbing keeps a GPU-shaped
 * device busy on a machine without a GPU.
 *
 * Selected by a model directory whose config.json has
 * `"sentiment_worker_simulated_device": {"batch_ms": 20, "max_batch_size": 256}` (see
 * `backend-factory.ts`); the ONNX file beside it is checked by model loading as usual but never run.
 * It runs in the inference thread, where the ONNX session would (`onnx-thread.ts`): batches reach it
 * the way they reach a real model (packed ids, padded there, probabilities back), so the main
 * thread's cost in the benchmark is the real one. Busy time is added up across every device of the
 * process, for a benchmark that runs the worker in-process (`simulatedDeviceTotals`): by the
 * thread's owner as each batch comes back (`recordSimulatedBatch`), or by a device run in this
 * thread as each starts.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ModelError } from "../errors/errors.js";
import type { InferenceBackend } from "./inference-backend.js";
import type { PaddedBatch } from "./padded-batch.js";

/** The config.json key that marks a model directory as a simulated device. */
export const SIMULATED_DEVICE_KEY = "sentiment_worker_simulated_device";

export interface SimulatedDeviceSpec {
  batchMs: number;
  maxBatchSize: number;
}

/** The spec from a model's config.json, or undefined when it is an ordinary model. */
export function simulatedDeviceSpec(config: Record<string, unknown>, where: string): SimulatedDeviceSpec | undefined {
  const raw = config[SIMULATED_DEVICE_KEY];
  if (raw === undefined) return undefined;
  const spec = (raw ?? {}) as { batch_ms?: unknown; max_batch_size?: unknown };
  const positive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;
  if (!positive(spec.batch_ms) || !positive(spec.max_batch_size) || !Number.isInteger(spec.max_batch_size)) {
    throw new ModelError(
      `${SIMULATED_DEVICE_KEY} in ${where} must be {"batch_ms": <ms above 0>, "max_batch_size": <whole number above 0>}`,
    );
  }
  return { batchMs: spec.batch_ms as number, maxBatchSize: spec.max_batch_size as number };
}

/** Every simulated device of this process, added up. */
export interface SimulatedDeviceTotals {
  /**
   * Device time spent on batches up to now, in milliseconds: a batch in the inference thread counts
   * once it is back, one run in this thread in part while under way.
   */
  busyMs: number;
  batches: number;
  /** Posts in the batches counted so far. */
  posts: number;
}

const totals = { assignedMs: 0, batches: 0, posts: 0, freeAt: 0 };

/** A batch's device time: a batch larger than the device takes several passes. */
export function simulatedBatchMs(spec: SimulatedDeviceSpec, size: number): number {
  return spec.batchMs * Math.ceil(size / spec.maxBatchSize);
}

/** Counts a batch a device in another thread finished (the totals live in this thread). */
export function recordSimulatedBatch(spec: SimulatedDeviceSpec, size: number): void {
  totals.assignedMs += simulatedBatchMs(spec, size);
  totals.batches += 1;
  totals.posts += size;
}

export function simulatedDeviceTotals(now = performance.now()): SimulatedDeviceTotals {
  // What was assigned, less what of it still lies ahead.
  return { busyMs: totals.assignedMs - Math.max(0, totals.freeAt - now), batches: totals.batches, posts: totals.posts };
}

export class SimulatedDeviceBackend implements InferenceBackend {
  private closed = false;
  /** As a GPU's stream: batches handed over while one runs wait their turn on the device (`run`). */
  readonly queuesRuns = true;

  constructor(
    readonly numLabels: number,
    private readonly spec: SimulatedDeviceSpec,
  ) {}

  async run(batch: PaddedBatch): Promise<Float32Array> {
    if (this.closed) throw new ModelError("the simulated device is closed");
    const cost = simulatedBatchMs(this.spec, batch.size);
    const now = performance.now();
    // One batch at a time: one handed over while another runs waits for it.
    const start = Math.max(now, totals.freeAt);
    totals.freeAt = start + cost;
    totals.assignedMs += cost;
    totals.batches += 1;
    totals.posts += batch.size;
    const end = totals.freeAt;
    // Timers may fire a fraction of a millisecond early: the batch is done only once its time is up.
    for (let left = end - now; left > 0; left = end - performance.now()) await sleep(left);
    return new Float32Array(batch.size * this.numLabels);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
