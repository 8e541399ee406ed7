/**
 * `sentiment-worker produce [file]`: JSON lines (a file, or stdin) into a Kafka topic, one record
 * per line, keyed by the line's `input.idField` when it has one: what a feed's producer would send,
 * for trying the live worker (the README's Kafka quick start) without other tools. Lines go as they
 * are: the worker, not this command, decides what is a bad record.
 */
import { createReadStream, existsSync } from "node:fs";
import { Command, Option } from "commander";
import { boundedLines } from "../consumers/bounded-lines.js";
import { ConfigError } from "../errors/errors.js";
import type { ProducedRecord } from "../kafka/client.js";
import { connectKafka } from "../kafka/kafkajs-client.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";

/** Records per produce request: small enough for the default request size with long posts. */
const SEND_EVERY = 500;
/** A longer line is refused, naming its line: a topic takes at most 1 MiB per record by default. */
const MAX_LINE_BYTES = 1_000_000;

export function produceCommand(): Command {
  const command = new Command("produce")
    .description("send JSON lines (a file, or stdin) to a Kafka topic, one record per line")
    .argument("[file]", "JSONL file; none or - reads stdin")
    .addOption(new Option("--topic <topic>", "the topic (default: the first of kafka.inputTopics)"))
    .addOption(new Option("--create", "create the topic when it does not exist (the broker's default partitions)"));
  withConfigOptions(command);
  return command.action(async (file: string | undefined) => {
    const config = configFromCommand(command);
    const options = command.opts<{ topic?: string; create?: boolean }>();
    const topic = options.topic ?? config.kafka.inputTopics[0];
    if (!topic) throw new ConfigError([{ path: "--topic", reason: "name a topic (or set kafka.inputTopics)" }]);
    if (file !== undefined && file !== "-" && !existsSync(file)) {
      throw new ConfigError([{ path: "file", reason: `${file} does not exist` }]);
    }
    const kafka = await connectKafka(config.kafka);
    try {
      await kafka.admin.ensureTopics([{ topic, field: "--topic" }], options.create === true);
      const producer = await kafka.producer();
      let sent = 0;
      let pending: ProducedRecord[] = [];
      const flush = async () => {
        if (pending.length === 0) return;
        await producer.send([{ topic, messages: pending }]);
        sent += pending.length;
        pending = [];
      };
      try {
        const input = file === undefined || file === "-" ? process.stdin : createReadStream(file);
        let lineNumber = 0;
        for await (const line of boundedLines(input, MAX_LINE_BYTES)) {
          lineNumber++;
          if (line.kind === "tooLarge") {
            throw new ConfigError([{ path: "file", reason: `line ${lineNumber} is over ${MAX_LINE_BYTES} bytes` }]);
          }
          if (line.value.toString("utf8").trim() === "") continue;
          pending.push({ key: keyOf(line.value, config.input.idField), value: line.value });
          if (pending.length >= SEND_EVERY) await flush();
        }
        await flush();
      } finally {
        await producer.disconnect();
      }
      process.stderr.write(`sentiment-worker: produced ${sent} records to ${topic}\n`);
    } finally {
      await kafka.close();
    }
  });
}

/** The line's id as its key (so a post's copies go to one partition, in order), when it has one. */
function keyOf(line: Buffer, idField: string): string | null {
  try {
    const id = (JSON.parse(line.toString("utf8")) as Record<string, unknown>)[idField];
    return typeof id === "string" || typeof id === "number" ? String(id) : null;
  } catch {
    return null; // not JSON: the worker dead-letters it; it goes unkeyed
  }
}
