/**
 * `sentiment-worker classify "text" ...`: each text's scores for all labels, highest first, as the
 * model card's example prints them; one JSON line per text. With no text, reads lines from stdin.
 */
import { Command } from "commander";
import { boundedLines } from "../consumers/bounded-lines.js";
import { maxLineBytes, tooLargeLineMessage } from "../consumers/file-source.js";
import type { Classified } from "../inference/classifier.js";
import { InOrder } from "../pipeline/in-order.js";
import { classifierFromConfig } from "./classifier-from-config.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";

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
      // Lines are submitted as they arrive, so stdin batches, and each is printed as soon as it
      // and the lines before it are done (the same ordered writer as `run`).
      const output = new InOrder<string>(
        (text) => void process.stdout.write(`${text}\n`),
        config.batching.queueCapacity,
      );
      // A line over `run`'s bound is not read into memory; its output line says so, in its place.
      const maxBytes = maxLineBytes(config.input.maxTextBytes);
      for await (const line of boundedLines(process.stdin, maxBytes)) {
        if (line.kind === "tooLarge") {
          const message = tooLargeLineMessage(line.length, maxBytes);
          await output.push(Promise.resolve(JSON.stringify({ error: "TOO_LARGE", message })));
          continue;
        }
        // classify waits for room in the queue itself; the ordered writer bounds the lines in flight.
        await output.push(classifier.classify(line.value.toString("utf8")).then(formatScores));
      }
      await output.flush();
    } finally {
      await classifier.close();
    }
  });
}
