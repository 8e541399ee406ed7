/**
 * `sentiment-worker classify "text" ...`: each text's scores for all labels, highest first, as the
 * model card's example prints them; one JSON line per text. With no text, reads lines from stdin.
 */
import { Command } from "commander";
import type { Classified } from "../inference/classifier.js";
import { classifierFromConfig } from "./classifier-from-config.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";
import { readLines } from "./read-lines.js";

export function formatScores(result: Classified): string {
  const ranked = Object.entries(result.scores)
    .sort((a, b) => b[1] - a[1])
    .map(([label, score]) => ({ label, score }));
  return JSON.stringify(ranked);
}

export function classifyCommand(): Command {
  const command = new Command("classify")
    .description("print the sentiment scores of each text (or of each line of stdin)")
    .argument("[texts...]", "texts to classify; none reads lines from stdin");
  withConfigOptions(command);
  return command.action(async (texts: string[]) => {
    const config = configFromCommand(command);
    const classifier = await classifierFromConfig(config);
    try {
      if (texts.length > 0) {
        for (const result of await classifier.classifyAll(texts)) process.stdout.write(`${formatScores(result)}\n`);
        return;
      }
      // Lines are submitted as they arrive, so stdin batches, and printed in their order.
      const pending: Promise<Classified>[] = [];
      let printed = 0;
      const flush = async (all: boolean) => {
        while (printed < pending.length && (all || pending.length - printed > config.batching.maxBatchSize * 2)) {
          process.stdout.write(`${formatScores(await (pending[printed++] as Promise<Classified>))}\n`);
        }
      };
      for await (const line of readLines("-")) {
        if (!classifier.hasCapacity) await classifier.whenCapacity();
        pending.push(classifier.classify(line));
        await flush(false);
      }
      await flush(true);
    } finally {
      await classifier.close();
    }
  });
}
