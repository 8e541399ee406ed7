/**
 * Draws a replay's progress on stderr: a bar (cli-progress) on a terminal, for people; a JSON line
 * every few seconds otherwise, for logs and programs (`{"progress": {...}}`, the snapshot's
 * fields). Either way a last report at 100% (or where it stopped) comes before the summary.
 */
import cliProgress from "cli-progress";
import type { ProgressSnapshot } from "./progress.js";

export interface ProgressReporter {
  /** Draws the final state and stops drawing. */
  stop(final: ProgressSnapshot): void;
  /** Writes a line above the bar (or as is, without one). */
  log(line: string): void;
}

export interface ProgressReporterOptions {
  stream: NodeJS.WriteStream;
  /** Bar or JSON lines; default: whether the stream is a terminal. */
  tty?: boolean;
  /** JSON lines: every this many ms. */
  intervalMs: number;
}

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined) return "--";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

function payload(s: ProgressSnapshot): Record<string, string> {
  return {
    rate: s.recordsPerSecond.toLocaleString("en-US"),
    etaText: formatEta(s.etaSeconds),
    percentText: s.percent.toFixed(1),
    slowestText: s.slowest ? `p${s.slowest.partition} ${s.slowest.percent.toFixed(1)}%` : "none",
    partitionsText: `${s.partitionsDone}/${s.partitions}`,
  };
}

export function startProgressReporter(
  snapshot: () => ProgressSnapshot,
  options: ProgressReporterOptions,
): ProgressReporter {
  const { stream } = options;
  if (options.tty ?? stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format:
          "replay {bar} {percentText}% | {value}/{total} records | {rate}/s | ETA {etaText} | partitions done {partitionsText} | slowest {slowestText}",
        barsize: 30,
        hideCursor: true,
        // Redrawn from our own snapshot, not cli-progress's ETA (which knows only its own updates).
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    const first = snapshot();
    bar.start(first.total, first.done, payload(first));
    const timer = setInterval(() => {
      const s = snapshot();
      bar.update(s.done, payload(s));
    }, 200);
    timer.unref();
    return {
      stop(final) {
        clearInterval(timer);
        bar.update(final.done, payload(final));
        bar.stop();
      },
      log(line) {
        // Clear the bar's line, write, and let the next redraw put the bar back under it.
        stream.write(`\r\x1b[K${line}\n`);
      },
    };
  }
  const write = (s: ProgressSnapshot) => stream.write(`${JSON.stringify({ progress: s })}\n`);
  write(snapshot());
  const timer = setInterval(() => write(snapshot()), options.intervalMs);
  timer.unref();
  return {
    stop(final) {
      clearInterval(timer);
      write(final);
    },
    log(line) {
      stream.write(`${line}\n`);
    },
  };
}
