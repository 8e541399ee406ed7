/**
 * `sentiment-worker replay` as a child process for integration tests (so a test can SIGKILL it):
 * its exit, the JSON progress lines and summary it writes on stderr, and its output.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { ProgressSnapshot } from "../../src/replay/progress.js";
import { REPO_ROOT } from "./fixtures.js";

const cli = join(REPO_ROOT, "dist/src/cli/main.js");

export interface ReplaySummary {
  records: number;
  events: number;
  deadLetters: number;
  duplicatesSkipped: number;
  replay?: { group: string; plan?: string; complete: boolean; done: number; total: number; deleted?: number };
}

export interface ReplayRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  progress: ProgressSnapshot[];
  summary: ReplaySummary | undefined;
  stdout: string;
  stderr: string;
}

/** Children still running, killed by `killReplays` (a test's `after`). */
const children = new Set<ChildProcess>();

export function killReplays(): void {
  for (const child of children) child.kill("SIGKILL");
}

/**
 * Starts `replay` with `args` and configuration `flags` (field path → value); `onProgress` sees
 * each JSON progress line. A replay that does not end within `timeoutMs` is killed (the test fails
 * instead of hanging).
 */
export function runReplay(
  args: readonly string[],
  flags: Readonly<Record<string, string>>,
  onProgress?: (p: ProgressSnapshot, child: ChildProcess) => void,
  timeoutMs = 120_000,
): Promise<ReplayRun> {
  const child = spawn(
    process.execPath,
    [cli, "replay", ...args, "--progress-interval", "0.2", ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v])],
    { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" } },
  );
  children.add(child);
  const deadline = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const run: ReplayRun = { code: null, signal: null, progress: [], summary: undefined, stdout: "", stderr: "" };
  let pending = "";
  child.stdout?.on("data", (d: Buffer) => {
    run.stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    run.stderr += d.toString();
    pending += d.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.startsWith("{")) continue;
      const parsed = JSON.parse(line) as { progress?: ProgressSnapshot; summary?: ReplaySummary };
      if (parsed.progress) {
        run.progress.push(parsed.progress);
        onProgress?.(parsed.progress, child);
      }
      if (parsed.summary) run.summary = parsed.summary;
    }
  });
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      clearTimeout(deadline);
      children.delete(child);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

/** How often each id was found: the ids found more than once, those missing, and those not expected. */
export function tally(found: readonly string[], expected: readonly string[]) {
  const counts = new Map<string, number>();
  for (const id of found) counts.set(id, (counts.get(id) ?? 0) + 1);
  const wanted = new Set(expected);
  return {
    counts,
    doubled: [...counts].filter(([, n]) => n > 1).map(([id]) => id),
    missing: expected.filter((id) => !counts.has(id)),
    unexpected: [...counts.keys()].filter((id) => !wanted.has(id)),
  };
}
