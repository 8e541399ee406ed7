/**
 * `sentiment-worker run`: the main job. On its embedded default (`input.source: file`) it reads a
 * JSONL file or stdin and writes `sentiment.v1` events to stdout, no broker needed.
 */
import { Command } from "commander";
import { ModelError } from "../errors/errors.js";
import { SENTIMENT_LABELS } from "../events/sentiment-event.js";
import { runFilePipeline } from "../pipeline/file-pipeline.js";
import { classifierFromConfig } from "./classifier-from-config.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";

export function runCommand(): Command {
  const command = new Command("run").description(
    "tag every message of the input (input.source: a JSONL file or stdin by default, or Kafka) and write sentiment.v1 events",
  );
  withConfigOptions(command);
  return command.action(async () => {
    const config = configFromCommand(command);
    if (config.input.source === "kafka") {
      throw new ModelError("input.source kafka is not available in this version yet: use input.source file");
    }
    const classifier = await classifierFromConfig(config);
    try {
      const labels = [...classifier.model.labels].sort();
      if (labels.join() !== [...SENTIMENT_LABELS].sort().join()) {
        throw new ModelError(
          `sentiment.v1 events need the labels ${SENTIMENT_LABELS.join(", ")}; the model has ${classifier.model.labels.join(", ")}`,
        );
      }
      const counters = await runFilePipeline(config, classifier);
      process.stderr.write(`${JSON.stringify({ summary: counters.summary() })}\n`);
    } finally {
      await classifier.close();
    }
  });
}
