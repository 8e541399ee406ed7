/** The classifier for a CLI command, from the loaded configuration (or another `model` with its batching and runtime), with download progress on stderr. */
import type { Config } from "../config/index.js";
import { SentimentClassifier } from "../inference/classifier.js";
import { stderrLog } from "./stderr-log.js";

export function classifierFromConfig(
  config: Config,
  model: Config["model"] = config.model,
): Promise<SentimentClassifier> {
  return SentimentClassifier.load({
    model,
    batching: config.batching,
    runtime: config.runtime,
    log: stderrLog(),
  });
}
