/**
 * Decoding cost per message by input format: the same posts as JSON, Avro, Protobuf and JSON
 * Schema (Confluent's wire format), through `decodeRecord` as a processing thread runs it (the
 * schema parsed once per id, as there), with passthrough off and on. CPU µs per message, the
 * median of interleaved repeats (a repeat decodes every post once per format).
 *
 *   npm run build && node dist/bench/decode.bench.js [--posts 20000] [--repeat 7]
 */
import { parseArgs } from "node:util";
import avro from "avsc";
import protobuf from "protobufjs";
import { loadConfig } from "../src/config/index.js";
import type { SourceCoordinates } from "../src/events/dead-letter.js";
import { decodeRecord } from "../src/pipeline/decode.js";
import type { ChunkSchemas } from "../src/schema-registry/schema-cache.js";
import { fmt, fmtRange, markdownTable, median } from "./stats.js";

const { values: args } = parseArgs({
  options: { posts: { type: "string", default: "20000" }, repeat: { type: "string", default: "7" } },
});
const posts = Number(args.posts);
const repeat = Number(args.repeat);

const AVRO = {
  type: "record",
  name: "Post",
  fields: [
    { name: "id", type: "string" },
    { name: "user", type: "string" },
    { name: "createdAt", type: "long" },
    { name: "lang", type: ["null", "string"], default: null },
    { name: "content", type: { type: "record", name: "Content", fields: [{ name: "text", type: "string" }] } },
  ],
};
const PROTO = `syntax = "proto3";
message Post {
  message Content { string text = 1; }
  string id = 1; string user = 2; int64 createdAt = 3; string lang = 4; Content content = 5;
}`;
const avroType = avro.Type.forSchema(AVRO as avro.Schema);
const protoType = protobuf.parse(PROTO, { keepCase: true }).root.lookupType("Post");

const wire = (id: number, payload: Uint8Array, indexes: number[] = []) => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, Buffer.from(indexes), payload]);
};
const sample = (i: number) => ({
  id: `1${String(i).padStart(17, "0")}`,
  user: `user_${i % 977}`,
  createdAt: 1_795_773_600_000 + i,
  lang: i % 3 === 0 ? "pt" : null,
  content: { text: `Post number ${i}: what a great day at the launch, loving the new features! #launch` },
});
const values: Record<string, Buffer[]> = { json: [], avro: [], protobuf: [], "json-schema": [] };
for (let i = 0; i < posts; i++) {
  const post = sample(i);
  const json = JSON.stringify(post);
  values.json?.push(Buffer.from(json));
  values["json-schema"]?.push(wire(3, Buffer.from(json)));
  values.avro?.push(wire(1, avroType.toBuffer(post)));
  values.protobuf?.push(
    wire(2, protoType.encode(protoType.fromObject({ ...post, lang: post.lang ?? "" })).finish(), [0]),
  );
}
const schemas: ChunkSchemas = new Map([
  [1, { found: true, schema: { schemaType: "AVRO", schema: JSON.stringify(AVRO), references: [] } }],
  [2, { found: true, schema: { schemaType: "PROTOBUF", schema: PROTO, references: [] } }],
  [3, { found: true, schema: { schemaType: "JSON", schema: "{}", references: [] } }],
]);
const source: SourceCoordinates = { topic: "t", partition: 0, offset: "0", timestamp: "", timestampMs: "-1" };
const base = loadConfig({ env: {} }).input;

const formats = ["json", "avro", "protobuf", "json-schema"] as const;
const rows: string[][] = [];
for (const passthrough of [false, true]) {
  const times = new Map<string, number[]>(formats.map((f) => [f, []]));
  for (let r = 0; r < repeat + 1; r++) {
    for (const format of formats) {
      const options = { ...base, format, textField: "content.text", passthrough };
      const start = process.cpuUsage();
      let messages = 0;
      for (const value of values[format] as Buffer[]) {
        if (decodeRecord({ key: null, value, source }, options, schemas).kind === "message") messages++;
      }
      const used = process.cpuUsage(start);
      if (messages !== posts) throw new Error(`${format}: ${messages} of ${posts} posts decoded`);
      // The first round warms up (JIT, the parsed schemas).
      if (r > 0) times.get(format)?.push((used.user + used.system) / posts);
    }
  }
  for (const format of formats) {
    const t = times.get(format) as number[];
    rows.push([format, passthrough ? "on" : "off", fmt(median(t), 2), fmtRange(t, 2)]);
  }
}
process.stdout.write(
  `${markdownTable(["format", "passthrough", "CPU µs / message (median)", "range"], rows, ["left", "left", "right", "right"]).join("\n")}\n`,
);
