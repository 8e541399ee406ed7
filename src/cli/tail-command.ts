/**
 * `sentiment-worker tail`: prints what the worker committed, one line per record: the events of
 * `kafka.outputTopic` (or `--topic`) as they are, or with `--dead-letters` each dead letter of
 * `kafka.deadLetterTopic` as {code, message, value}. Reads from the beginning, `read_committed` like
 * any consumer of an exactly-once worker, in a group of its own that it deletes at the end, and
 * stops after `--count` records (exit 1 if they do not come within `--timeout-ms`), or, without a
 * count, once nothing new came for `--timeout-ms`. A topic that does not exist yet is waited for as long.
 */
import { randomBytes } from "node:crypto";
import { Command, Option } from "commander";
import { ConfigError, SentimentWorkerError } from "../errors/errors.js";
import type { ConsumedRecord } from "../kafka/client.js";
import { connectKafka } from "../kafka/kafkajs-client.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError([{ path: name, reason: `${value} is not a positive integer` }]);
  return n;
};

export function tailCommand(): Command {
  const command = new Command("tail")
    .description("print the events (or dead letters) the worker committed, one JSON line each")
    .addOption(new Option("--topic <topic>", "the topic (default: kafka.outputTopic)"))
    .addOption(new Option("--dead-letters", "read kafka.deadLetterTopic; print each as {code, message, value}"))
    .addOption(new Option("--count <n>", "stop after n records").argParser(positive("--count")))
    .addOption(
      new Option("--timeout-ms <ms>", "give up waiting after this long without a new record")
        .argParser(positive("--timeout-ms"))
        .default(30_000),
    );
  withConfigOptions(command);
  return command.action(async () => {
    const config = configFromCommand(command);
    const options = command.opts<{ topic?: string; deadLetters?: boolean; count?: number; timeoutMs: number }>();
    const deadLetters = options.deadLetters === true;
    const topic = options.topic ?? (deadLetters ? config.kafka.deadLetterTopic : config.kafka.outputTopic);
    const kafka = await connectKafka(config.kafka);
    const groupId = `sentiment-worker-tail-${randomBytes(6).toString("hex")}`;
    try {
      // A worker started a moment ago may not have created its output topics yet.
      const deadline = Date.now() + options.timeoutMs;
      while (!(await kafka.admin.listTopics()).includes(topic) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await kafka.admin.ensureTopics([{ topic, field: "--topic", input: true }], false);
      const member = kafka.member({
        groupId,
        sessionTimeoutMs: config.kafka.sessionTimeoutMs,
        rebalanceTimeoutMs: config.kafka.rebalanceTimeoutMs,
        heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
      });
      let printed = 0;
      let lastNews = Date.now();
      let failure: Error | undefined;
      const done = () => failure !== undefined || (options.count !== undefined && printed >= options.count);
      await member.run(
        { topics: [topic], fromBeginning: true, concurrency: 1 },
        {
          joined: () => {},
          rebalancing: () => {},
          stopped: () => {},
          skipped: () => {},
          crashed: (error, restarting) => {
            if (!restarting) failure = error;
          },
          batch: async (batch) => {
            for (const record of batch.records) {
              if (done()) return;
              process.stdout.write(
                `${deadLetters ? deadLetterLine(record) : (record.value?.toString("utf8") ?? "null")}\n`,
              );
              printed++;
              lastNews = Date.now();
              batch.resolveOffset(record.offset); // the next fetch starts after it
            }
          },
        },
      );
      while (!done() && Date.now() - lastNews < options.timeoutMs) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await member.disconnect();
      if (failure) throw new SentimentWorkerError(`reading ${topic} failed: ${failure.message}`, { cause: failure });
      if (options.count !== undefined && printed < options.count) {
        throw new SentimentWorkerError(
          `${printed} of ${options.count} records on ${topic} after waiting ${options.timeoutMs} ms for more`,
        );
      }
    } finally {
      await kafka.admin.deleteGroup(groupId).catch(() => undefined);
      await kafka.close();
    }
  });
}

function header(record: ConsumedRecord, name: string): string | undefined {
  const value = record.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

function deadLetterLine(record: ConsumedRecord): string {
  return JSON.stringify({
    code: header(record, "sw-error-code"),
    message: header(record, "sw-error-message"),
    value: record.value?.toString("utf8") ?? null,
  });
}
