/**
 * `sentiment-worker replay --topic T --from <time|offset|earliest> --to <time|offset|now>`: tags a
 * bounded range of a topic again, in a consumer group of its own, with progress on stderr, and
 * exits 0 once every partition reached its end. Interrupted (Ctrl-C, SIGTERM, even SIGKILL) and
 * started again with the same arguments, it goes on where it stopped; started several times at
 * once, the processes share the replay's partitions.
 */
import { Command, Option } from "commander";
import type { Config } from "../config/index.js";
import { type ProgressReporter, startProgressReporter } from "../replay/progress-reporter.js";
import { planReplay, startReplay } from "../replay/replay.js";
import type { ReplayPlan } from "../replay/replay-plan.js";
import { totals } from "../replay/replay-plan.js";
import { describeBound, parseReplaySpec, type ReplayArgs, type ReplaySpec } from "../replay/replay-spec.js";
import { startTelemetry } from "../telemetry/index.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";
import { handleStopSignals, SIGNAL_EXIT_CODES } from "./signals.js";
import { stderrLog } from "./stderr-log.js";
import { VERSION } from "./version.js";

interface ReplayOptions extends ReplayArgs {
  dryRun?: boolean;
  restart?: boolean;
  progressInterval?: string;
}

function planJson(plan: ReplayPlan, spec: ReplaySpec): Record<string, unknown> {
  const { total, done } = totals(plan);
  return {
    group: plan.groupId,
    id: plan.id,
    topic: plan.topic,
    from: describeBound(spec.from),
    to: describeBound(spec.to),
    stored: plan.stored,
    plannedAt: plan.plannedAt.toISOString(),
    partitions: plan.partitions.map((p) => ({
      partition: p.partition,
      start: p.start.toString(),
      end: p.end.toString(),
      records: Number(p.end - p.start),
      done: Number(p.position - p.start),
    })),
    total: Number(total),
    remaining: Number(total - done),
  };
}

function printPlan(plan: ReplayPlan, spec: ReplaySpec): void {
  const json = planJson(plan, spec);
  if (!process.stdout.isTTY) {
    process.stdout.write(`${JSON.stringify({ plan: json })}\n`);
    return;
  }
  const rows = [["partition", "start", "end", "records", "done"]];
  for (const p of plan.partitions) {
    rows.push([
      String(p.partition),
      String(p.start),
      String(p.end),
      String(p.end - p.start),
      String(p.position - p.start),
    ]);
  }
  const { total, done } = totals(plan);
  rows.push(["total", "", "", String(total), String(done)]);
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const state = plan.stored
    ? `stored plan from ${plan.plannedAt.toISOString()}`
    : "a new plan, resolved now (a real run stores it)";
  process.stdout.write(`replay ${plan.groupId} of ${plan.topic} [${json.from}, ${json.to}): ${state}\n`);
  for (const row of rows) process.stdout.write(`${row.map((c, i) => c.padStart(widths[i] ?? 0)).join("  ")}\n`);
}

async function runReplay(config: Config, spec: ReplaySpec, opts: ReplayOptions): Promise<void> {
  const stderr = process.stderr;
  let reporter: ProgressReporter | undefined;
  // Beside the progress bar while it runs.
  const log = stderrLog((line) => (reporter ? reporter.log(line) : stderr.write(`${line}\n`)));
  // From the first moment, as `run`. A stopped replay exits 128 + the signal's number: its range
  // is not done (the same command resumes it).
  const signals = handleStopSignals({
    stoppedExitCode: (signal) => SIGNAL_EXIT_CODES[signal],
    log: (_level, message, fields) => log(message, fields),
  });
  const telemetry = await startTelemetry(config.telemetry, { version: VERSION });
  try {
    const replay = await startReplay(config, spec, {
      workerVersion: VERSION,
      telemetry,
      log,
      ...(opts.restart ? { restart: true } : {}),
    });
    const { plan } = replay;
    const { total, done } = totals(plan);
    if (plan.stored && done === total) {
      log("the replay is complete; --restart replays it again", {
        replay: plan.groupId,
        planned: plan.plannedAt.toISOString(),
      });
    } else {
      log(plan.stored ? "running the replay's stored plan" : "a new replay plan", {
        replay: plan.groupId,
        plan: plan.id,
        planned: plan.plannedAt.toISOString(),
        partitions: plan.partitions.length,
        toGo: String(total - done),
        total: String(total),
      });
    }
    const intervalMs = Math.max(100, Number(opts.progressInterval ?? "5") * 1000);
    reporter = startProgressReporter(() => replay.progress.snapshot(), { stream: stderr, intervalMs });
    signals.started();
    let failure: unknown;
    try {
      const outcome = await Promise.race([replay.finished.then(() => "finished"), signals.requested]);
      if (outcome !== "finished") log("finishing the batches in flight; the same command resumes", { signal: outcome });
    } catch (error) {
      failure = error;
    }
    await replay.stop();
    const final = replay.progress.snapshot();
    reporter.stop(final);
    reporter = undefined;
    const complete = failure === undefined && signals.received === undefined;
    const summary = {
      ...replay.counters.summary(),
      replay: {
        group: plan.groupId,
        plan: plan.id,
        topic: plan.topic,
        complete,
        done: final.done,
        total: final.total,
        deleted: final.deleted,
        process: final.process,
      },
    };
    stderr.write(`${JSON.stringify({ summary })}\n`);
    signals.finished();
    if (failure !== undefined) throw failure;
  } finally {
    await telemetry.shutdown();
  }
}

export function replayCommand(): Command {
  const command = new Command("replay")
    .description(
      "tag a bounded range of a topic again (backfill), in a consumer group of its own, with progress; resumable",
    )
    .requiredOption("--topic <topic>", "the topic to replay")
    .requiredOption("--from <from>", "start of the range, inclusive: an ISO time, an offset, or earliest")
    .requiredOption("--to <to>", "end of the range, exclusive: an ISO time, an offset, or now")
    .option("--partitions <list>", "only these partitions (comma-separated); default all")
    .option("--output-topic <topic>", "where the events go (default kafka.outputTopic)")
    .option("--rate <n>", "read at most n records per second")
    .option("--retag", "ignore the dedup keys of earlier runs (tag again even with the same model revision)")
    .option("--dry-run", "print the plan (per partition start, end, records) and exit")
    .option("--restart", "forget an earlier run with the same arguments (plan and progress) and start over")
    .addOption(
      new Option(
        "--progress-interval <seconds>",
        "seconds between JSON progress lines when stderr is not a terminal",
      ).default("5"),
    );
  withConfigOptions(command);
  return command.action(async () => {
    const opts = command.opts<ReplayOptions>();
    const config = configFromCommand(command);
    const spec = parseReplaySpec(opts, config);
    if (opts.dryRun) {
      printPlan(await planReplay(config, spec, { fresh: opts.restart === true }), spec);
      return;
    }
    await runReplay(config, spec, opts);
  });
}
