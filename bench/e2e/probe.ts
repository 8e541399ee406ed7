/**
 * The end-to-end benchmark's client, in a worker thread: it reads the output topic as a
 * read_committed consumer and, for the paced runs, produces the input at a fixed rate. A thread
 * of its own keeps its clock readings and its pacing free of the worker's event loop (tokenizing
 * is synchronous there), and keeps its own JSON and Kafka work off that loop, as a downstream
 * consumer in another process would. Wall-clock milliseconds (Date.now) throughout: record
 * timestamps are wall clock, and the main thread's clock is the same one.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parentPort, Worker, workerData } from "node:worker_threads";
import type { Message } from "kafkajs";
import { Kafka, logLevel } from "../../src/kafka/kafkajs.js";
import { threadSeconds } from "./cpu.js";

export interface ProbeJob {
  brokers: string[];
  outputTopic: string;
  /** Events to wait for (warm-up and measured together). */
  expected: number;
  /** Ids starting with this are not measured (warm-up); `warm` is posted once `warmup` of them were read. */
  warmupPrefix: string;
  warmup: number;
  /** Paced input, produced only after `go` (the main thread says when the worker is ready, or the backlog is out). */
  pace?: {
    inputTopic: string;
    texts: string[];
    idPrefix: string;
    /** Messages per second, and how many to send. */
    rate: number;
    count: number;
    keys: number;
  };
}

export interface ProbeResult {
  /** Events read, and distinct ids among them (exactly once: both equal `expected`). */
  count: number;
  distinct: number;
  /** When the first and the last measured event were read (Date.now()). */
  firstAt: number;
  lastAt: number;
  /** Record timestamp → read, per measured event, in milliseconds. */
  latenciesMs: number[];
  /** What the paced producer achieved, messages per second (0 without pacing). */
  producedRate: number;
  /** CPU seconds of this thread from `go` to the end, so the main thread can leave them out of its process's. */
  cpuSeconds: number;
  timedOut: boolean;
}

type FromProbe = { type: "ready" } | { type: "warm" } | { type: "done"; result: ProbeResult };
type ToProbe = { type: "go" } | { type: "stop" };

/** The message a benchmark posts as input: id and text, keyed so the keys spread over the partitions. */
export function inputMessage(id: string, text: string, key: string, timestamp?: number): Message {
  return {
    key,
    value: JSON.stringify({ id, text }),
    ...(timestamp !== undefined ? { timestamp: String(timestamp) } : {}),
  };
}

/** Main-thread side: starts a probe and hands out its milestones. */
export class Probe {
  readonly ready: Promise<void>;
  /** Every warm-up event was read. */
  readonly warm: Promise<void>;
  readonly done: Promise<ProbeResult>;
  private readonly thread: Worker;

  constructor(job: ProbeJob) {
    // Named, so the CPU by thread name can leave it out ("bench-reader").
    this.thread = new Worker(new URL(import.meta.url), { workerData: job, name: "bench-reader" });
    let onReady: () => void = () => {};
    let onWarm: () => void = () => {};
    let onDone: (r: ProbeResult) => void = () => {};
    let onError: (e: unknown) => void = () => {};
    this.ready = new Promise((resolve) => {
      onReady = resolve;
    });
    this.warm = new Promise((resolve) => {
      onWarm = resolve;
    });
    this.done = new Promise((resolve, reject) => {
      onDone = resolve;
      onError = reject;
    });
    this.thread.on("message", (m: FromProbe) => {
      if (m.type === "ready") onReady();
      if (m.type === "warm") onWarm();
      if (m.type === "done") {
        onDone(m.result);
        // Its port listener would keep the thread, and so this process, alive.
        void this.thread.terminate();
      }
    });
    this.thread.on("error", onError);
    this.thread.on("exit", (code) => onError(new Error(`the probe thread exited (${code}) before its result`)));
  }

  /** Starts the paced producer. */
  go(): void {
    this.thread.postMessage({ type: "go" } satisfies ToProbe);
  }

  /** Ends a run early (a timeout): the probe reports what it has. */
  stop(): void {
    this.thread.postMessage({ type: "stop" } satisfies ToProbe);
  }
}

// ---- the thread ------------------------------------------------------------------------------

async function runProbe(job: ProbeJob, port: NonNullable<typeof parentPort>): Promise<void> {
  const kafka = new Kafka({ brokers: job.brokers, clientId: "sw-e2e-probe", logLevel: logLevel.NOTHING });
  let go: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    go = resolve;
  });
  let cpuAtGo = threadSeconds();
  let stopped = false;
  let finished: () => void = () => {};
  const allRead = new Promise<void>((resolve) => {
    finished = resolve;
  });
  port.on("message", (m: ToProbe) => {
    if (m.type === "go") {
      cpuAtGo = threadSeconds();
      go();
    }
    if (m.type === "stop") {
      stopped = true;
      finished();
      go();
    }
  });

  const ids = new Set<string>();
  const latenciesMs: number[] = [];
  let count = 0;
  let warm = 0;
  let firstAt = 0;
  let lastAt = 0;
  const reader = kafka.consumer({
    groupId: `sw-e2e-reader-${process.pid}-${Date.now()}`,
    readUncommitted: false,
    // An idle fetch returns within this; data returns at once (minBytes 1).
    maxWaitTimeInMs: 100,
  });
  let joined: () => void = () => {};
  const readerJoined = new Promise<void>((resolve) => {
    joined = resolve;
  });
  reader.on(reader.events.GROUP_JOIN, () => joined());
  await reader.connect();
  await reader.subscribe({ topic: job.outputTopic, fromBeginning: true });
  await reader.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const message of batch.messages) {
        count++;
        // A raw ceiling of the benchmark forwards its input ({id, text}): the record's own timestamp then.
        const event = JSON.parse(String(message.value)) as { id: string; source?: { timestampMs: string } };
        ids.add(event.id);
        if (event.id.startsWith(job.warmupPrefix)) {
          if (++warm === job.warmup) port.postMessage({ type: "warm" } satisfies FromProbe);
          continue;
        }
        if (firstAt === 0) firstAt = now;
        lastAt = now;
        latenciesMs.push(now - Number(event.source?.timestampMs ?? message.timestamp));
      }
      if (count >= job.expected) finished();
    },
  });
  await readerJoined;
  port.postMessage({ type: "ready" } satisfies FromProbe);
  if (job.warmup === 0) port.postMessage({ type: "warm" } satisfies FromProbe);

  let producedRate = 0;
  if (job.pace) {
    await started;
    producedRate = await pacedProduce(kafka, job.pace, () => stopped);
  }
  await allRead;
  const cpuSeconds = threadSeconds() - cpuAtGo;
  await reader.disconnect();
  const result: ProbeResult = {
    count,
    distinct: ids.size,
    firstAt,
    lastAt,
    latenciesMs,
    producedRate,
    cpuSeconds,
    timedOut: stopped,
  };
  port.postMessage({ type: "done", result } satisfies FromProbe);
}

/**
 * Sends message i at start + i / rate: each turn sends everything due (so a late turn catches up
 * and the mean rate holds), stamped with the send time, the moment Kafka would stamp it.
 */
async function pacedProduce(kafka: Kafka, pace: NonNullable<ProbeJob["pace"]>, stopped: () => boolean) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const start = Date.now();
  let sent = 0;
  while (sent < pace.count && !stopped()) {
    const now = Date.now();
    const due = Math.min(pace.count, Math.floor(((now - start) * pace.rate) / 1000) + 1);
    if (due > sent) {
      const messages: Message[] = [];
      for (; sent < due; sent++) {
        const text = pace.texts[sent % pace.texts.length] as string;
        messages.push(inputMessage(`${pace.idPrefix}${sent}`, text, `user-${sent % pace.keys}`, now));
      }
      await producer.send({ topic: pace.inputTopic, messages, acks: 1 });
    }
    const next = start + (sent * 1000) / pace.rate;
    await sleep(Math.max(0, next - Date.now()));
  }
  const rate = (sent * 1000) / Math.max(1, Date.now() - start);
  await producer.disconnect();
  return rate;
}

if (parentPort && workerData) {
  // A failure ends the thread with an error event, which rejects `done` in the main thread.
  void runProbe(workerData as ProbeJob, parentPort);
}
