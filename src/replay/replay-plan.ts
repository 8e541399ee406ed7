/**
 * The replay plan: per partition, the offsets `[start, end)` to process. It is resolved once, at a
 * replay's first start (offsets by timestamp, the log's ends), and stored where the replay's
 * progress is stored: as the metadata of the offsets its consumer group commits, in every commit
 * (inside the output transaction in exactly-once mode). So a resumed replay reads back the same
 * range (`--to now` does not move) together with how far it got, and the two can never disagree:
 * whatever removes the progress (the group's offsets expiring, `--restart`) removes the plan too.
 * Processes started with the same arguments share one plan: the first to store it wins, the others
 * read it back (plan-store.ts); `refuseToJoin` keeps out a process that would run it differently.
 */
import { randomBytes } from "node:crypto";
import { ConfigError, SentimentWorkerError } from "../errors/errors.js";
import type { KafkaAdmin } from "../kafka/client.js";
import type { FromSpec, ReplaySpec, ToSpec } from "./replay-spec.js";

export interface PlannedPartition {
  partition: number;
  /** First offset of the range. */
  start: bigint;
  /** First offset after the range (exclusive); equal to start for an empty range. */
  end: bigint;
  /** Next offset to process as the group's commits say: within [start, end]. */
  position: bigint;
}

export interface ReplayPlan {
  topic: string;
  groupId: string;
  /** Random per plan: names the `--retag` key namespace, so a `--restart` gets a fresh one. */
  id: string;
  plannedAt: Date;
  /**
   * Stored before this process looked (a resumed replay, or one another process of it stored
   * first); false for a plan resolved here (stored by this process when it runs).
   */
  stored: boolean;
  /** The model revision a stored plan began with (undefined for a new plan). */
  modelRevision: string | undefined;
  /** The delivery mode a stored plan began with (undefined for a new plan, or one stored before it was kept). */
  delivery: string | undefined;
  partitions: PlannedPartition[];
}

/** What each committed offset of a replay group carries, as its metadata. */
interface StoredRange {
  id: string;
  start: string;
  end: string;
  model: string;
  at: number;
  /** `kafka.delivery`; absent in plans stored before it was kept. */
  delivery?: string;
}

/** How this process would run a plan: what every process of one replay must share. */
export interface RunIdentity {
  modelRevision: string;
  delivery: string;
}

/** Marks our metadata (a group used by anything else has none of it) and its version. */
const METADATA_PREFIX = "sw-replay/1 ";

export function planMetadata(plan: ReplayPlan, partition: PlannedPartition, run: RunIdentity): string {
  const stored: StoredRange = {
    id: plan.id,
    start: partition.start.toString(),
    end: partition.end.toString(),
    model: run.modelRevision,
    at: plan.plannedAt.getTime(),
    delivery: run.delivery,
  };
  return METADATA_PREFIX + JSON.stringify(stored);
}

export function parsePlanMetadata(metadata: string | null | undefined): StoredRange | undefined {
  if (!metadata?.startsWith(METADATA_PREFIX)) return undefined;
  try {
    const v = JSON.parse(metadata.slice(METADATA_PREFIX.length)) as Partial<StoredRange>;
    const isOffset = (s: unknown): s is string => typeof s === "string" && /^\d+$/.test(s);
    if (typeof v.id !== "string" || !isOffset(v.start) || !isOffset(v.end) || typeof v.model !== "string") {
      return undefined;
    }
    if (typeof v.at !== "number") return undefined;
    return {
      id: v.id,
      start: v.start,
      end: v.end,
      model: v.model,
      at: v.at,
      ...(typeof v.delivery === "string" ? { delivery: v.delivery } : {}),
    };
  } catch {
    return undefined;
  }
}

const clamp = (value: bigint, low: bigint, high: bigint) => (value < low ? low : value > high ? high : value);

/** The plan stored in the group's committed offsets, or undefined when there is none. */
export async function readStoredPlan(
  admin: KafkaAdmin,
  groupId: string,
  spec: ReplaySpec,
): Promise<ReplayPlan | undefined> {
  const stored = (await admin.committedOffsets(groupId, spec.topic)).flatMap((p) => {
    const range = parsePlanMetadata(p.metadata);
    return range ? [{ partition: p.partition, offset: p.offset, range }] : [];
  });
  const first = stored[0];
  if (first === undefined) return undefined;
  if (stored.some((s) => s.range.id !== first.range.id || s.range.model !== first.range.model)) {
    throw new SentimentWorkerError(
      `the stored plan of replay ${groupId} is inconsistent (partitions from different plans): run it with --restart`,
    );
  }
  const missing = (spec.partitions ?? []).filter((p) => !stored.some((s) => s.partition === p));
  if (missing.length > 0) {
    throw new SentimentWorkerError(
      `the stored plan of replay ${groupId} lacks partitions ${missing.join(", ")}: run it with --restart`,
    );
  }
  return {
    topic: spec.topic,
    groupId,
    id: first.range.id,
    plannedAt: new Date(first.range.at),
    stored: true,
    modelRevision: first.range.model,
    delivery: first.range.delivery,
    partitions: stored
      .map(({ partition, offset, range }) => {
        const start = BigInt(range.start);
        const end = BigInt(range.end);
        const committed = /^\d+$/.test(offset) ? BigInt(offset) : start;
        return { partition, start, end, position: clamp(committed, start, end) };
      })
      .sort((a, b) => a.partition - b.partition),
  };
}

async function offsetsOf(
  admin: KafkaAdmin,
  topic: string,
  bound: FromSpec | ToSpec,
  ends: Map<number, { low: bigint; high: bigint }>,
): Promise<Map<number, bigint>> {
  switch (bound.kind) {
    case "earliest":
      return new Map([...ends].map(([p, e]) => [p, e.low]));
    case "now":
      // The high watermark as a read_committed reader sees it (the last stable offset).
      return new Map([...ends].map(([p, e]) => [p, e.high]));
    case "offset":
      return new Map([...ends].map(([p]) => [p, bound.offset]));
    case "time": {
      // The first offset whose timestamp is at or after the time; the log's end when there is none.
      const found = await admin.offsetsAtTime(topic, bound.ms);
      return new Map(found.map((o) => [o.partition, BigInt(o.offset)]));
    }
  }
}

/** Resolves the range of every selected partition now: offsets by timestamp, the ends of the log. */
export async function resolvePlan(admin: KafkaAdmin, groupId: string, spec: ReplaySpec): Promise<ReplayPlan> {
  const topics = await admin.listTopics();
  if (!topics.includes(spec.topic)) {
    throw new ConfigError([{ path: "--topic", reason: `topic ${spec.topic} does not exist` }]);
  }
  const ends = new Map(
    (await admin.partitionEnds(spec.topic)).map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]),
  );
  const selected = spec.partitions ?? [...ends.keys()].sort((a, b) => a - b);
  const unknown = selected.filter((p) => !ends.has(p));
  if (unknown.length > 0) {
    throw new ConfigError([
      {
        path: "--partitions",
        reason: `topic ${spec.topic} has partitions 0-${ends.size - 1}; no ${unknown.join(", ")}`,
      },
    ]);
  }
  const [from, to] = await Promise.all([
    offsetsOf(admin, spec.topic, spec.from, ends),
    offsetsOf(admin, spec.topic, spec.to, ends),
  ]);
  return {
    topic: spec.topic,
    groupId,
    id: randomBytes(6).toString("hex"),
    plannedAt: new Date(),
    stored: false,
    modelRevision: undefined,
    delivery: undefined,
    partitions: selected.map((partition) => {
      const { low, high } = ends.get(partition) as { low: bigint; high: bigint };
      // Offsets outside the log are clamped to it; a range that ends before it starts is empty.
      const start = clamp(from.get(partition) ?? high, low, high);
      const end = clamp(to.get(partition) ?? high, start, high);
      return { partition, start, end, position: start };
    }),
  };
}

/** The stored plan of a replay that began before, else a new one (not stored until the replay starts). */
export async function loadPlan(admin: KafkaAdmin, groupId: string, spec: ReplaySpec): Promise<ReplayPlan> {
  return (await readStoredPlan(admin, groupId, spec)) ?? (await resolvePlan(admin, groupId, spec));
}

/** Forgets a replay (its plan and progress): deletes its consumer group. */
export async function forgetReplay(admin: KafkaAdmin, groupId: string): Promise<void> {
  let outcome: Awaited<ReturnType<KafkaAdmin["deleteGroup"]>>;
  try {
    outcome = await admin.deleteGroup(groupId);
  } catch (error) {
    throw new SentimentWorkerError(`could not forget replay ${groupId}`, { cause: error, retriable: true });
  }
  if (outcome === "not-empty") {
    throw new SentimentWorkerError(
      `replay ${groupId} is running in another process (its group has members): stop it before --restart`,
    );
  }
}

export function totals(plan: ReplayPlan): { total: bigint; done: bigint } {
  let total = 0n;
  let done = 0n;
  for (const p of plan.partitions) {
    total += p.end - p.start;
    done += p.position - p.start;
  }
  return { total, done };
}

/**
 * A process may share a stored plan only if it runs it as the plan began: with another model
 * revision the replay's events would mix two models, and with another delivery mode an
 * at-least-once process would commit beside exactly-once ones that it cannot fence. The error
 * names the setting that differs.
 */
export function refuseToJoin(plan: ReplayPlan, run: RunIdentity): void {
  if (plan.modelRevision !== undefined && plan.modelRevision !== run.modelRevision) {
    throw new ConfigError([
      {
        path: "model",
        reason:
          `replay ${plan.groupId} began with model revision ${plan.modelRevision}, and this process loads ${run.modelRevision}: ` +
          "give every process of the replay the same model.id, model.revision, model.variant and model.dir, or start it again with --restart",
      },
    ]);
  }
  if (plan.delivery !== undefined && plan.delivery !== run.delivery) {
    throw new ConfigError([
      {
        path: "kafka.delivery",
        reason: `replay ${plan.groupId} runs with kafka.delivery ${plan.delivery}, and this process with ${run.delivery}: give every process of the replay the same kafka.delivery`,
      },
    ]);
  }
}
