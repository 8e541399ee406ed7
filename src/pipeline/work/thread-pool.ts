/**
 * Chunks prepared and built on a pool of processing threads (`runtime.processingThreads`), so the
 * main thread keeps only Kafka, Redis and the model's queue: per message it copies the record's
 * bytes once and reads back an id and a finished event value. A chunk stays on the thread that
 * prepared it (its decoded state lives there until built or released); a new chunk goes to the
 * thread with the fewest requests in flight. A thread that dies fails the chunks on it (they are
 * read again) and a new one takes its place (`restarting-thread.ts`).
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Config } from "../../config/index.js";
import { InferenceError } from "../../errors/errors.js";
import { RestartingThread } from "../../threads/restarting-thread.js";
import type { ChunkPartition, ChunkRecord } from "../stages/items.js";
import type {
  BuildRequest,
  Built,
  ChunkModel,
  ChunkWork,
  Prepared,
  PreparedChunk,
  PrepareOptions,
} from "./chunk-work.js";
import { type PackedRecords, packedRecordBuffers, packRecords } from "./packed-records.js";

/** Most threads the default gives: past this the main thread binds, not the per-message work. */
const MAX_DEFAULT_THREADS = 8;

/** `runtime.processingThreads`, resolved: unset is one fewer than the cores the process may use (1 to 8). */
export function processingThreads(setting: number | undefined, cores = usableCores()): number {
  return setting ?? Math.min(MAX_DEFAULT_THREADS, Math.max(1, cores - 1));
}

/** Where the cgroup's CPU quota is read (v2, then v1). */
export const CGROUP_CPU_FILES = {
  v2: "/sys/fs/cgroup/cpu.max",
  v1Quota: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
  v1Period: "/sys/fs/cgroup/cpu/cpu.cfs_period_us",
};

/**
 * The cores the process may use: the CPUs it may run on, fewer under a CPU quota (a container's
 * CPU limit, which `availableParallelism` does not see: a pod limited to 2 CPUs on a 64-core node
 * would otherwise start 8 threads).
 */
export function usableCores(files = CGROUP_CPU_FILES, cpus = availableParallelism()): number {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  let quota: number | undefined;
  const v2 = read(files.v2)?.split(/\s+/);
  if (v2 && v2[0] !== "max") quota = Number(v2[0]) / Number(v2[1]);
  else if (!v2) {
    const [q, p] = [Number(read(files.v1Quota)), Number(read(files.v1Period))];
    if (q > 0 && p > 0) quota = q / p;
  }
  return quota !== undefined && Number.isFinite(quota) && quota > 0
    ? Math.max(1, Math.min(cpus, Math.ceil(quota)))
    : cpus;
}

export interface WorkThreadInit {
  input: Config["input"];
}

export type WorkRequest =
  | {
      type: "prepare";
      job: number;
      partition: ChunkPartition;
      records: PackedRecords;
      tokenizer: { path: string; maxLength: number };
      options: PrepareOptions;
    }
  | { type: "build"; job: number; request: BuildRequest }
  | { type: "release"; job: number };

export type WorkReply = Prepared | Built | null;

interface Slot {
  channel: RestartingThread<WorkRequest, WorkReply>;
  inFlight: number;
}

export interface ThreadPoolOptions {
  /** The thread's module (tests give one that can die); default `work-thread-main.js`. */
  threadUrl?: URL;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export class ThreadPoolChunkWork implements ChunkWork {
  private nextJob = 0;

  private constructor(private readonly slots: Slot[]) {}

  static async start(
    threads: number,
    input: Config["input"],
    options: ThreadPoolOptions = {},
  ): Promise<ThreadPoolChunkWork> {
    const url = options.threadUrl ?? new URL("./work-thread-main.js", import.meta.url);
    const startThread = () =>
      RestartingThread.start<WorkRequest, WorkReply>(
        url,
        { input } satisfies WorkThreadInit,
        {
          name: "a processing thread",
          load: (message) => new InferenceError(message),
          run: (message, options) => new InferenceError(message, options),
        },
        { log: options.log },
      );
    const started = await Promise.allSettled(Array.from({ length: threads }, startThread));
    const channels = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failed = started.find((s) => s.status === "rejected");
    if (failed) {
      await Promise.all(channels.map((c) => c.close()));
      throw failed.reason;
    }
    return new ThreadPoolChunkWork(channels.map((channel) => ({ channel, inFlight: 0 })));
  }

  get threads(): number {
    return this.slots.length;
  }

  async prepare(
    partition: ChunkPartition,
    records: readonly ChunkRecord[],
    model: ChunkModel,
    options: PrepareOptions,
  ): Promise<PreparedChunk> {
    const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const job = this.nextJob++;
    const packed = packRecords(records);
    const prepared = (await this.request(
      slot,
      {
        type: "prepare",
        job,
        partition: { topic: partition.topic, partition: partition.partition },
        records: packed,
        tokenizer: { path: model.model.tokenizerPath, maxLength: model.model.maxLength },
        options,
      },
      packedRecordBuffers(packed),
    )) as Prepared;
    let released = false;
    return {
      ...prepared,
      build: async (request) => {
        released = true; // the thread forgets the chunk once built
        return (await this.request(slot, { type: "build", job, request }, [
          request.tagged.buffer,
          request.scores.buffer,
          request.truncated.buffer,
          request.tokens.buffer,
        ] as ArrayBuffer[])) as Built;
      },
      release: () => {
        if (released) return;
        released = true;
        this.request(slot, { type: "release", job }).catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.channel.close()));
  }

  private async request(slot: Slot, request: WorkRequest, transfer: ArrayBuffer[] = []): Promise<WorkReply> {
    slot.inFlight++;
    try {
      return await slot.channel.request(request, transfer);
    } finally {
      slot.inFlight--;
    }
  }
}
