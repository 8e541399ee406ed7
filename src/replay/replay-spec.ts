/**
 * What a replay is asked to do, from the `replay` command's arguments: the topic, the range
 * `[from, to)` as times, offsets or the ends of the log, the partitions, where the outputs go and
 * whether dedup keys are ignored. The replay's identity (and so its consumer group) is a hash of
 * exactly these, so the same arguments always name the same replay and resume it.
 */
import { createHash } from "node:crypto";
import type { Config } from "../config/index.js";
import { ConfigError, type ConfigProblem } from "../errors/errors.js";

/** Where the range starts (inclusive). */
export type FromSpec = { kind: "earliest" } | { kind: "offset"; offset: bigint } | { kind: "time"; ms: number };
/** Where the range ends (exclusive). */
export type ToSpec = { kind: "now" } | { kind: "offset"; offset: bigint } | { kind: "time"; ms: number };

export interface ReplaySpec {
  topic: string;
  from: FromSpec;
  to: ToSpec;
  /** Sorted, unique; undefined means every partition of the topic. */
  partitions: readonly number[] | undefined;
  outputTopic: string;
  deadLetterTopic: string;
  /** Ignore the dedup keys of earlier runs (its own namespace of keys instead). */
  retag: boolean;
  /** Records read per second at most; undefined is no limit. */
  rate: number | undefined;
}

/** The command's arguments as commander hands them over. */
export interface ReplayArgs {
  topic?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  partitions?: string | undefined;
  outputTopic?: string | undefined;
  rate?: string | undefined;
  retag?: boolean | undefined;
}

const OFFSET = /^\d+$/;
// A calendar date, optionally with a time and a zone: what people type, not every ISO 8601 form.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/i;

function parseTime(value: string): number | undefined {
  if (!ISO_TIME.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

function parseBound(
  value: string | undefined,
  end: "earliest" | "now",
  flag: string,
  problems: ConfigProblem[],
): FromSpec | ToSpec | undefined {
  if (value === undefined || value === "") {
    problems.push({ path: flag, reason: `required: an ISO time, an offset or ${end}` });
    return undefined;
  }
  if (value === end) return { kind: end } as FromSpec | ToSpec;
  if (OFFSET.test(value)) return { kind: "offset", offset: BigInt(value) };
  const ms = parseTime(value);
  if (ms !== undefined) return { kind: "time", ms };
  problems.push({
    path: flag,
    reason: `${JSON.stringify(value)} is neither an ISO time (2026-11-27T10:00:00Z), an offset nor ${end}`,
  });
  return undefined;
}

function parsePartitions(value: string | undefined, problems: ConfigProblem[]): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((p) => p.trim());
  if (parts.some((p) => !OFFSET.test(p) || Number(p) > 2 ** 31 - 1)) {
    problems.push({ path: "--partitions", reason: `expected partition numbers separated by commas, got ${value}` });
    return undefined;
  }
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}

export function parseReplaySpec(args: ReplayArgs, config: Config): ReplaySpec {
  const problems: ConfigProblem[] = [];
  if (!args.topic) problems.push({ path: "--topic", reason: "required: the topic to replay" });
  if (config.kafka.brokers.length === 0)
    problems.push({ path: "kafka.brokers", reason: "required by replay (or KAFKA_BROKERS)" });
  const from = parseBound(args.from, "earliest", "--from", problems) as FromSpec | undefined;
  const to = parseBound(args.to, "now", "--to", problems) as ToSpec | undefined;
  // Only bounds of one kind can be compared before the offsets are resolved.
  const backwards =
    (from?.kind === "time" && to?.kind === "time" && to.ms < from.ms) ||
    (from?.kind === "offset" && to?.kind === "offset" && to.offset < from.offset);
  if (backwards) problems.push({ path: "--to", reason: "must not be before --from" });
  const partitions = parsePartitions(args.partitions, problems);
  let rate: number | undefined;
  if (args.rate !== undefined) {
    rate = Number(args.rate);
    if (!Number.isFinite(rate) || rate <= 0) {
      problems.push({ path: "--rate", reason: `expected messages per second above 0, got ${args.rate}` });
    }
  }
  if (args.outputTopic === "") problems.push({ path: "--output-topic", reason: "must not be empty" });
  if (problems.length > 0 || !args.topic || !from || !to) throw new ConfigError(problems);
  return {
    topic: args.topic,
    from,
    to,
    partitions,
    outputTopic: args.outputTopic ?? config.kafka.outputTopic,
    deadLetterTopic: config.kafka.deadLetterTopic,
    retag: args.retag === true,
    rate,
  };
}

function boundText(bound: FromSpec | ToSpec): string {
  switch (bound.kind) {
    case "offset":
      return `offset:${bound.offset}`;
    case "time":
      return `time:${new Date(bound.ms).toISOString()}`;
    default:
      return bound.kind;
  }
}

/** A short, stable name of the replay: the same arguments give the same one (the rate is not part of it). */
export function replayKey(spec: ReplaySpec): string {
  const identity = JSON.stringify([
    spec.topic,
    boundText(spec.from),
    boundText(spec.to),
    spec.partitions ?? "all",
    spec.outputTopic,
    spec.deadLetterTopic,
    spec.retag,
  ]);
  return createHash("sha256").update(identity).digest("hex").slice(0, 12);
}

/** The replay's own consumer group: live groups are never joined, and its offsets are its progress. */
export function replayGroupId(baseGroupId: string, spec: ReplaySpec): string {
  return `${baseGroupId}-replay-${replayKey(spec)}`;
}

export function describeBound(bound: FromSpec | ToSpec): string {
  return boundText(bound).replace(/^(offset|time):/, "");
}
