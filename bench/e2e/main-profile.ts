/**
 * `--profile DIR`: the main thread's CPU profile over each backlog window (the worker runs in this
 * process, so the inspector here profiles its main thread only), written as a `.cpuprofile` (open
 * it in Chrome's DevTools) and summed by what the time went to.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where main-thread time goes, by the first matching rule along a sample's stack, innermost first. */
const CATEGORIES: ReadonlyArray<readonly [string, RegExp]> = [
  [
    "kafkajs: produce and fetch encoding",
    /node_modules\/kafkajs\/src\/(protocol|producer)|src\/kafka\/record-(en|de)coder/,
  ],
  ["kafkajs: network and requests", /node_modules\/kafkajs\//],
  ["Redis (ioredis)", /node_modules\/ioredis|src\/dedup\//],
  ["the model's queue (batcher)", /src\/inference\//],
  ["processing threads: messages", /src\/pipeline\/work\/|src\/threads\//],
  ["pipeline, sinks, sources", /src\/(pipeline|sinks|consumers)\//],
  ["metrics and traces", /src\/telemetry\/|@opentelemetry/],
];

export async function startMainProfile(): Promise<() => Promise<Profile>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  return async () => {
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile };
    session.disconnect();
    return profile;
  };
}

/**
 * Busy time by category, as shares of the busy samples: the profiler samples wall time, so on a
 * shared machine a thread waiting for a core counts as busy; the µs per message come from /proc.
 */
export function summariseProfile(profile: Profile): { category: string; share: number }[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, number>();
  const add = (category: string, us: number) => totals.set(category, (totals.get(category) ?? 0) + us);
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i] ?? 0;
    let id: number | undefined = profile.samples[i];
    const leaf = nodes.get(id as number)?.callFrame.functionName;
    if (leaf === "(idle)") continue;
    if (leaf === "(garbage collector)") {
      add("garbage collection", us);
      continue;
    }
    let category = "other (Node internals, timers, promises)";
    search: while (id !== undefined) {
      const url = nodes.get(id)?.callFrame.url ?? "";
      for (const [name, pattern] of CATEGORIES) {
        if (pattern.test(url)) {
          category = name;
          break search;
        }
      }
      id = parent.get(id);
    }
    add(category, us);
  }
  const busy = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals].map(([category, us]) => ({ category, share: us / busy })).sort((a, b) => b.share - a.share);
}

export function writeProfile(dir: string, label: string, profile: Profile): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${label.replace(/[^a-z0-9]+/gi, "-")}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  return file;
}
