/**
 * One signal lifecycle for the commands that run until stopped (`run` on Kafka, `replay`):
 *
 * - SIGTERM or SIGINT during start-up exits as soon as no thread is loading (nothing is in flight
 *   yet, so a model download is not waited for), with the status of a stop (`stoppedExitCode`).
 * - After start-up the first signal asks for a stop: the command finishes and commits its chunks in
 *   flight, then exits with `stoppedExitCode` (run: 0, its normal end; replay: 128 + the signal's
 *   number, the range is not done).
 * - A second signal exits at once with 128 + its number: nothing committed is lost, the chunks in
 *   flight are read again.
 * - After the stop a process still held by a handle (the Kafka client, stopped while its consumer
 *   restarted after a broker loss: the soak saw one such SIGTERM end in SIGKILL after 30 s) exits
 *   after `LINGER_MS`; everything is committed and closed by then, so nothing is lost.
 *
 * An exit never happens while a thread loads its native module or model, which would abort the
 * process (SIGABRT); a load takes seconds at most, and a hung one is bounded by `START_UP_EXIT_WAIT_MS`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { threadsLoaded } from "../threads/worker-channel.js";

export const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** 128 + the signal's number, as a shell reports a process that the signal ended. */
export const SIGNAL_EXIT_CODES: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Longest an exit waits for threads still loading. */
export const START_UP_EXIT_WAIT_MS = 30_000;

/** How long a stopped command may take to let go of its last handles before it exits anyway. */
export const LINGER_MS = 2_000;

/** What the lifecycle uses of `process` (a fake in tests). */
export interface SignalTarget {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
  exit(code: number): void;
  exitCode?: number | string | null | undefined;
}

export interface StopSignalOptions {
  /** The exit status of a command stopped by `signal` (during start-up, or after finishing its work). */
  stoppedExitCode(signal: StopSignal): number;
  log(level: "info" | "warn", message: string, fields?: Record<string, unknown>): void;
  target?: SignalTarget;
  /** Resolves once no thread is loading (default: every worker thread of the process). */
  threadsLoaded?: () => Promise<void>;
  startUpExitWaitMs?: number;
  lingerMs?: number;
}

export interface StopSignals {
  /** The first signal after start-up: time to stop. Never resolves when no signal comes. */
  readonly requested: Promise<StopSignal>;
  /** The signal that asked for the stop, if one did. */
  readonly received: StopSignal | undefined;
  /** Start-up is over: a signal now asks for a stop instead of exiting. */
  started(): void;
  /**
   * The stop is done: sets the exit status of a signalled stop (unless a failure set one) and exits
   * after `LINGER_MS` if a handle still holds the process (the timer itself holds nothing).
   */
  finished(): void;
  /** Stops listening (for tests; a command's listeners live as long as its process). */
  dispose(): void;
}

export function handleStopSignals(options: StopSignalOptions): StopSignals {
  const target: SignalTarget = options.target ?? process;
  const loaded = options.threadsLoaded ?? threadsLoaded;
  const waitMs = options.startUpExitWaitMs ?? START_UP_EXIT_WAIT_MS;
  const { log } = options;
  let phase: "starting" | "running" | "exiting" = "starting";
  let received: StopSignal | undefined;
  let request: (signal: StopSignal) => void = () => {};
  const requested = new Promise<StopSignal>((resolve) => {
    request = resolve;
  });

  const exitSafely = (code: number) => {
    phase = "exiting";
    const waited = new AbortController();
    const bound = sleep(waitMs, undefined, { signal: waited.signal }).catch(() => {});
    void Promise.race([loaded(), bound]).then(() => {
      waited.abort(); // the bound's timer would hold the process (or a test) on
      target.exit(code);
    });
  };

  const on = (signal: StopSignal) => {
    if (phase === "exiting") return; // already on its way out
    if (phase === "starting") {
      log("info", "signal during start-up: exiting", { signal });
      exitSafely(options.stoppedExitCode(signal));
    } else if (received === undefined) {
      received = signal;
      request(signal);
    } else {
      log("warn", "second signal: exiting now; the chunks in flight are read again", { signal });
      exitSafely(SIGNAL_EXIT_CODES[signal]);
    }
  };
  const listeners = STOP_SIGNALS.map((signal) => [signal, () => on(signal)] as const);
  for (const [signal, listener] of listeners) target.on(signal, listener);

  return {
    requested,
    get received() {
      return received;
    },
    started() {
      if (phase === "starting") phase = "running";
    },
    finished() {
      if (received !== undefined && !target.exitCode) target.exitCode = options.stoppedExitCode(received);
      setTimeout(() => {
        log("warn", "stopped, but a connection still held the process: exiting");
        target.exit(Number(target.exitCode ?? 0));
      }, options.lingerMs ?? LINGER_MS).unref();
    },
    dispose() {
      for (const [signal, listener] of listeners) target.off(signal, listener);
    },
  };
}
