#!/usr/bin/env node
/**
 * The floor plan, checked: imports between the folders of src/ (one per part of the design) form
 * no cycle, kafkajs is imported only inside src/kafka, and the rules below about who may know whom
 * (between folders, and between the pipeline's files) hold. dpdm (in `npm run lint` too) checks cycles between files; this checks the folders.
 *
 *   node scripts/check-layers.mjs          # exit 1 and the offending imports when a rule breaks
 *   node scripts/check-layers.mjs --graph  # print the folder graph
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");

/** Folders that must not import a folder (who may not know whom), and why. */
const FORBIDDEN = [
  ["consumers", "pipeline", "sources know nothing of the pipeline that wires them"],
  ["consumers", "sinks", "sources and sinks know nothing of each other"],
  ["sinks", "consumers", "sources and sinks know nothing of each other"],
  ["telemetry", "pipeline", "telemetry reports; it does not reach into the pipeline"],
  ["kafka", "pipeline", "the client knows nothing of what uses it"],
  ["inference", "pipeline", "the model knows nothing of where its texts come from"],
  ["events", "pipeline", "the record and event types are contracts, below the pipeline"],
];
/**
 * Rules between files (paths under src/, without the extension): who may import whom, and which
 * names. The chunk's stages see typed items, nothing of Kafka; partition ownership (exactly-once)
 * is reached only through the pipeline's delivery; the pipeline sees its collaborators through the
 * interfaces it defines (pipeline/ports.ts, dedup/dedup.ts), only the assemblies build concrete ones.
 */
/** Pipeline files other than the assemblies that build the concrete collaborators. */
const OUTSIDE_ASSEMBLIES = /^pipeline\/(?!kafka-job$|file-pipeline$)/;
const FILE_RULES = [
  {
    from: /^pipeline\/stages\//,
    to: /^(kafka|consumers|sinks)\/|^pipeline\/(chunk-pipeline|delivery|partition-ownership|kafka-job|live-worker)$/,
    why: "stages know nothing of Kafka, the source, the sink or the delivery: they see typed items",
  },
  {
    from: /^(?!pipeline\/delivery$)/,
    to: /^pipeline\/partition-ownership$/,
    why: "partition ownership is reached only through the pipeline (its exactly-once delivery)",
  },
  {
    from: OUTSIDE_ASSEMBLIES,
    to: /^dedup\/redis-dedup$/,
    why: "the pipeline sees de-duplication through dedup/dedup.ts; only the assemblies build RedisDeduplicator",
  },
];
/** Names a file may not import (type-only imports too). */
const NAME_RULES = [
  {
    from: OUTSIDE_ASSEMBLIES,
    names: /\b(SentimentClassifier|RedisDeduplicator)\b/,
    why: "the pipeline sees the model and de-duplication through its interfaces (pipeline/ports.ts)",
  },
];
/** Packages only one folder may import. */
const PRIVATE_PACKAGES = [["kafkajs", "kafka", "the Kafka client stays behind src/kafka/client.ts"]];

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

const folderOf = (file) => relative(src, file).split("/")[0].replace(/\.ts$/, "");
// Static imports and re-exports, type-only ones included: a type is a dependency too.
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']/g;

const edges = new Map(); // "a -> b" => [file:line of each import]
const problems = [];
for (const file of files(src)) {
  const text = readFileSync(file, "utf8");
  const from = folderOf(file);
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1];
    const line = text.slice(0, match.index + match[0].length).split("\n").length;
    const where = `${relative(root, file)}:${line}`;
    if (!spec.startsWith(".")) {
      const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
      for (const [name, owner, why] of PRIVATE_PACKAGES) {
        if (pkg === name && from !== owner) problems.push(`${where}: imports ${name} outside src/${owner} (${why})`);
      }
      continue;
    }
    const fromFile = relative(src, file).replace(/\.ts$/, "");
    const toFile = relative(src, resolve(dirname(file), spec)).replace(/\.(js|ts)$/, "");
    for (const rule of FILE_RULES) {
      if (rule.from.test(fromFile) && rule.to.test(toFile)) problems.push(`${where}: imports ${toFile} (${rule.why})`);
    }
    for (const rule of NAME_RULES) {
      const name = rule.from.test(fromFile) ? rule.names.exec(match[0])?.[1] : undefined;
      if (name) problems.push(`${where}: imports ${name} (${rule.why})`);
    }
    const to = folderOf(resolve(dirname(file), spec));
    if (to === from || to.startsWith("..")) continue;
    const key = `${from} -> ${to}`;
    edges.set(key, [...(edges.get(key) ?? []), where]);
    for (const [a, b, why] of FORBIDDEN) {
      if (from === a && to === b) problems.push(`${where}: ${a} imports ${b} (${why})`);
    }
  }
}

// Cycles between folders: strongly connected components of more than one folder (Tarjan).
const graph = new Map();
for (const key of edges.keys()) {
  const [a, b] = key.split(" -> ");
  graph.set(a, [...(graph.get(a) ?? []), b]);
  if (!graph.has(b)) graph.set(b, []);
}
let index = 0;
const indices = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
function connect(v) {
  indices.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v)) {
    if (!indices.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indices.get(w)));
  }
  if (low.get(v) === indices.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) components.push(component);
  }
}
for (const v of graph.keys()) if (!indices.has(v)) connect(v);
for (const component of components) {
  const inside = [...edges].filter(([key]) => key.split(" -> ").every((f) => component.includes(f)));
  problems.push(
    `import cycle between folders ${component.sort().join(", ")}:\n${inside.map(([key, where]) => `    ${key}  (${where.join(", ")})`).join("\n")}`,
  );
}

if (process.argv.includes("--graph")) {
  for (const [key, where] of [...edges].sort()) console.log(`${key}  (${where.length})`);
}
if (problems.length > 0) {
  console.error(`check-layers: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
console.error(`check-layers: ${graph.size} folders, ${edges.size} dependencies, no cycle, rules hold`);
