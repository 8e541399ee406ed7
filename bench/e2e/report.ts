/**
 * The end-to-end benchmark's tables: every row with its ceiling ratio and CPU per message, the
 * simulated device, inference only, latency, and the targets. Medians over the repeats with their
 * range; ratios taken within a repeat.
 */
import {
  bracketed,
  fmt,
  fmtMedianRange,
  markdownTable,
  median,
  pairedRatios,
  rateDigits,
  type Target,
  targetsTable,
  verdict,
} from "../stats.js";
import type { BatchSummary } from "./batches.js";
import type { Checked, InferenceOnlyRun, Row, ThroughputRun } from "./rows.js";

export interface Report {
  main: string[];
  device: string[];
  inference: string[];
  threads: string[];
  batches: string[];
  latency: string[];
  targets: string[];
}

/** `inference`: inference-only runs by model key, one a repeat. */
export function reportTables(
  rows: readonly Row[],
  inference: ReadonlyMap<string, readonly InferenceOnlyRun[]>,
): Report {
  const ceilingRows = rows.filter((r) => r.model === undefined);
  const workerRows = rows.filter((r) => r.model !== undefined);

  const rateOf = (row: Row) => row.throughput.map((t) => t.messagesPerSecond);
  const ceilingNamed = (name: string | undefined) => ceilingRows.find((c) => c.ceiling === name);
  /** Each repeat's rate over its ceiling's in the same repeat; only for rows of the ceilings' message count. */
  const ceilingRatios = (row: Row): number[] => {
    const ceiling = ceilingNamed(row.ceiling);
    if (!ceiling || row.model === undefined || row.messages !== ceiling.messages) return [];
    return pairedRatios(rateOf(row), rateOf(ceiling));
  };
  const perMessage = (row: Row, part: (t: ThroughputRun) => number) =>
    row.throughput.map((t) => (1e6 * part(t)) / t.events);
  const checks = (row: Row) => {
    if (!row.mode.output) return "nothing written to check";
    const runs: Checked[] = [...row.throughput, ...[...row.latency.values()].flat()];
    const bad = runs.filter((r) => r.events !== r.expected || r.distinct !== r.expected);
    return bad.length ? `${bad.length} run(s) with missing or repeated events` : "every message once";
  };
  const digitsOf = (row: Row) => rateDigits(median(rateOf(row)));

  const mainTable = markdownTable(
    [
      "row",
      "messages",
      "msg/s",
      "÷ its ceiling",
      "process µs/msg (all threads)",
      "of which main thread",
      "broker µs/msg",
      "Redis µs/msg",
      "start → ready (s)",
      "check",
    ],
    rows.map((row) => {
      const ratios = ceilingRatios(row);
      return [
        row.label,
        fmt(row.messages),
        fmtMedianRange(rateOf(row), digitsOf(row)),
        row.model === undefined ? "(ceiling)" : ratios.length ? fmtMedianRange(ratios, 2) : "–",
        fmtMedianRange(perMessage(row, (t) => t.cpu.process - t.readerCpu)),
        fmt(median(perMessage(row, (t) => t.cpu.mainThread))),
        fmtMedianRange(perMessage(row, (t) => t.cpu.others.broker ?? Number.NaN)),
        fmt(median(perMessage(row, (t) => t.cpu.others.redis ?? Number.NaN))),
        row.mode.backlogFirst
          ? `${fmt(median(row.throughput.map((t) => t.startSeconds)), 1)} (in the figure)`
          : `${fmt(median(row.throughput.map((t) => t.startSeconds)), 1)} → ${fmt(median(row.throughput.map((t) => t.readySeconds)), 1)}`,
        checks(row),
      ];
    }),
    ["left", "right", "right", "right", "right", "right", "right", "right", "right", "left"],
  );

  const simRows = workerRows.filter((r) => r.model?.key === "sim");
  /** Each repeat's rate over what the device can take: size × 1000 ÷ ms posts a second. */
  const ofCapacity = (row: Row) => {
    const spec = row.model?.device;
    return spec ? rateOf(row).map((rate) => rate / ((1000 * spec.batchSize) / spec.batchMs)) : [];
  };
  const devicesOf = (row: Row) => row.throughput.flatMap((t) => (t.device ? [t.device] : []));
  const deviceTable = markdownTable(
    [
      "row",
      "msg/s",
      "÷ device capacity",
      "posts per batch at steady state",
      "device busy at steady state (%)",
      "busy over the whole run (%)",
      "batches",
      "posts per batch, whole run",
    ],
    simRows.map((row) => {
      const devices = devicesOf(row);
      return [
        row.label,
        fmtMedianRange(rateOf(row)),
        fmtMedianRange(ofCapacity(row), 2),
        fmtMedianRange(devices.map((d) => d.steadyBatch)),
        fmtMedianRange(devices.map((d) => 100 * d.steadyBusy)),
        fmt(median(devices.map((d) => 100 * d.wholeBusy))),
        fmt(median(devices.map((d) => d.batches))),
        fmt(median(devices.map((d) => d.meanBatch))),
      ];
    }),
    ["left", "right", "right", "right", "right", "right", "right", "right"],
  );

  const inferenceRows = workerRows.filter((r) => r.model && inference.has(r.model.key));
  const inferenceRates = (key: string | undefined) => (inference.get(key ?? "") ?? []).map((r) => r.messagesPerSecond);
  /** Each end-to-end run against the inference-only runs just before and after it. */
  const e2eOverInference = (row: Row) =>
    pairedRatios(rateOf(row), bracketed(inferenceRates(row.model?.key), row.throughput.length));
  /** The whole machine's CPU a message end to end: the process (less the bench's reader), the broker and Redis. */
  const machineCpu = (row: Row) =>
    perMessage(row, (t) => t.cpu.process - t.readerCpu + (t.cpu.others.broker ?? 0) + (t.cpu.others.redis ?? 0));
  /** The worker's process alone (the broker and Redis share this machine's cores here, not a user's). */
  const workerCpu = (row: Row) => perMessage(row, (t) => t.cpu.process - t.readerCpu);
  const inferenceTable = markdownTable(
    [
      "model",
      "row",
      "inference only (msg/s)",
      "end to end (msg/s)",
      "e2e ÷ inference",
      "CPU µs/msg: inference only",
      "end to end (process, broker, Redis)",
      "inference only ÷ end to end",
      "… the worker's process alone",
    ],
    inferenceRows.map((row) => {
      const inf = inferenceRates(row.model?.key);
      const infCpuRuns = (inference.get(row.model?.key ?? "") ?? []).map((r) => r.cpuMicrosPerMessage);
      const infCpu = bracketed(infCpuRuns, row.throughput.length);
      return [
        row.model?.label ?? "",
        row.mode.name,
        fmtMedianRange(inf, digitsOf(row)),
        fmtMedianRange(rateOf(row), digitsOf(row)),
        fmtMedianRange(e2eOverInference(row), 2),
        fmtMedianRange(infCpuRuns),
        fmtMedianRange(machineCpu(row)),
        // Where the model's threads use every core, end to end cannot beat this share.
        fmtMedianRange(pairedRatios(infCpu, machineCpu(row)), 2),
        fmtMedianRange(pairedRatios(infCpu, workerCpu(row)), 2),
      ];
    }),
    ["left", "left", "right", "right", "right", "right", "right", "right", "right"],
  );

  // Where inference only and end to end differ, thread by thread (the rows with an inference-only run).
  const threadRows = inferenceRows.map((row) => {
    const inf = inference.get(row.model?.key ?? "") ?? [];
    const e2e = row.throughput.map((t) =>
      Object.fromEntries(Object.entries(t.cpu.threads).map(([name, sec]) => [name, (1e6 * sec) / t.events])),
    );
    return { row, inf: inf.map((r) => r.threads), e2e };
  });
  const threadNames = [
    ...new Set(threadRows.flatMap(({ inf, e2e }) => [...inf, ...e2e].flatMap((t) => Object.keys(t)))),
  ].filter((name) => name !== "bench-reader");
  const medianOf = (runs: readonly Record<string, number>[], name: string) => median(runs.map((t) => t[name] ?? 0));
  const threadsTable = markdownTable(
    ["row", "thread", "inference only (µs/msg)", "end to end (µs/msg)"],
    threadRows.flatMap(({ row, inf, e2e }) =>
      threadNames
        .map((name) => ({ name, a: medianOf(inf, name), b: medianOf(e2e, name) }))
        .filter(({ a, b }) => a >= 1 || b >= 1)
        .sort((x, y) => y.b - x.b)
        .map(({ name, a, b }) => [row.label, name, fmt(a), fmt(b)]),
    ),
    ["left", "left", "right", "right"],
  );

  // The model's batches: the same work a message only if as full and as little padded.
  const batchOf = (runs: readonly { batches?: BatchSummary }[], pick: (b: BatchSummary) => number, digits = 0) =>
    fmtMedianRange(
      runs.flatMap((r) => (r.batches ? [pick(r.batches)] : [])),
      digits,
    );
  const batchesTable = markdownTable(
    [
      "row",
      "batches: inference only",
      "end to end",
      "posts per batch: inference only",
      "end to end",
      "padded ÷ real tokens: inference only",
      "end to end",
    ],
    inferenceRows.map((row) => {
      const inf = inference.get(row.model?.key ?? "") ?? [];
      return [
        row.label,
        batchOf(inf, (b) => b.batches),
        batchOf(row.throughput, (b) => b.batches),
        batchOf(inf, (b) => b.postsPerBatch, 1),
        batchOf(row.throughput, (b) => b.postsPerBatch, 1),
        batchOf(inf, (b) => b.padding, 2),
        batchOf(row.throughput, (b) => b.padding, 2),
      ];
    }),
    ["left", "right", "right", "right", "right", "right", "right"],
  );

  const latencyRows = workerRows.filter((r) => r.latency.size);
  const latencyTable = markdownTable(
    ["row", "paced at (msg/s)", "p50 / p95 / p99 (ms)"],
    latencyRows.flatMap((row) =>
      [...row.latency].map(([fraction, runs]) => [
        `${row.label}, ×${fraction}`,
        fmt(median(runs.map((r) => r.rate)), digitsOf(row)),
        [runs.map((r) => r.p50), runs.map((r) => r.p95), runs.map((r) => r.p99)]
          .map((xs) => fmt(median(xs)))
          .join(" / "),
      ]),
    ),
    ["left", "right", "right"],
  );

  const targets: Target[] = [];
  for (const row of workerRows) {
    const key = row.model?.key;
    if (key === "full") {
      const ratio = median(e2eOverInference(row));
      targets.push({
        name: `end to end ÷ inference only, ${row.mode.name}`,
        got: ratio,
        want: "≥ 0.95",
        status: verdict(ratio, 0.95),
      });
      const half = row.latency.get(0.5);
      if (half?.length) {
        const p99 = median(half.map((r) => r.p99));
        targets.push({
          name: `p99 at half rate, ${row.mode.name} (ms)`,
          got: p99,
          want: "≤ 250",
          status: verdict(p99, 250, false),
        });
      }
    } else if (key === "sim") {
      const capacity = median(ofCapacity(row));
      targets.push({
        name: `msg/s ÷ the device's capacity, ${row.label}`,
        got: capacity,
        want: "≥ 0.90",
        status: verdict(capacity, 0.9),
      });
      const batch = median(devicesOf(row).map((d) => d.steadyBatch));
      targets.push({
        name: `posts per batch at steady state, ${row.label}`,
        got: batch,
        want: `≥ ${Math.floor(0.94 * (row.model?.device?.batchSize ?? 256))}`,
        status: verdict(batch, Math.floor(0.94 * (row.model?.device?.batchSize ?? 256))),
      });
    } else {
      const e2e = median(rateOf(row));
      targets.push({
        name: `plumbing, ${row.label} (msg/s)`,
        got: e2e,
        want: "≥ 20,000",
        status: verdict(e2e, 20_000),
      });
    }
  }
  return {
    main: mainTable,
    device: simRows.length ? deviceTable : [],
    inference: inferenceRows.length ? inferenceTable : [],
    threads: inferenceRows.length && threadNames.length ? threadsTable : [],
    batches: inferenceRows.length ? batchesTable : [],
    latency: latencyRows.length ? latencyTable : [],
    targets: targets.length ? targetsTable(targets) : [],
  };
}
