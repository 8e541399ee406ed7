/** The model for a CLI command, from the loaded configuration (or another `model` with its batching and runtime), with download progress on stderr. */
import type { Config } from "../config/index.js";
import { type ClassifierOptions, SentimentClassifier } from "../inference/classifier.js";
import { loadTextClassifier, type TextClassifier } from "../inference/text-classifier.js";
import { stderrLog } from "./stderr-log.js";

function optionsOf(config: Config, model: Config["model"]): ClassifierOptions {
  return { model, batching: config.batching, runtime: config.runtime, log: stderrLog() };
}

/** The sentiment classifier that tags events. */
export function classifierFromConfig(
  config: Config,
  model: Config["model"] = config.model,
): Promise<SentimentClassifier> {
  return SentimentClassifier.load(optionsOf(config, model));
}

/** A classifier or a zero-shot teacher (`model.kind`), for `compare`. */
export function textClassifierFromConfig(config: Config, model: Config["model"]): Promise<TextClassifier> {
  return loadTextClassifier(optionsOf(config, model));
}
