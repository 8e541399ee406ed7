/**
 * `sentiment-worker run`: the main job. On its embedded default (`input.source: file`) it reads a
 * JSONL file or stdin and writes `sentiment.v1` events to stdout, no broker needed; with
 * `input.source: kafka` it is the live worker until SIGTERM or SIGINT.
 */
import { Command } from "commander";
import type { Config } from "../config/index.js";
import { runFilePipeline } from "../pipeline/file-pipeline.js";
import { checkSentimentLabels, startWorker } from "../pipeline/worker.js";
import { classifierFromConfig } from "./classifier-from-config.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";
import { VERSION } from "./version.js";

const log = (message: string) => process.stderr.write(`sentiment-worker: ${message}\n`);

async function runFile(config: Config): Promise<void> {
  const classifier = await classifierFromConfig(config);
  try {
    checkSentimentLabels(classifier.model.labels);
    const counters = await runFilePipeline(config, classifier);
    process.stderr.write(`${JSON.stringify({ summary: counters.summary() })}\n`);
  } finally {
    await classifier.close();
  }
}

async function runKafka(config: Config): Promise<void> {
  const worker = await startWorker(config, { workerVersion: VERSION, log });
  log("ready");
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log(`${signal}: finishing in-flight batches`);
      resolve();
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
  await worker.stop();
  process.stderr.write(`${JSON.stringify({ summary: worker.counters.summary() })}\n`);
}

export function runCommand(): Command {
  const command = new Command("run").description(
    "tag every message of the input (input.source: a JSONL file or stdin by default, or Kafka) and write sentiment.v1 events",
  );
  withConfigOptions(command);
  return command.action(async () => {
    const config = configFromCommand(command);
    await (config.input.source === "kafka" ? runKafka(config) : runFile(config));
  });
}
