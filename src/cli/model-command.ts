/** `sentiment-worker model fetch`: download the configured model into the cache for offline use. */
import { Command } from "commander";
import { resolveModel } from "../inference/model/index.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";
import { stderrLog } from "./stderr-log.js";

export function modelCommand(): Command {
  const fetch = new Command("fetch").description(
    "download model.id@model.revision into model.cacheDir (once) and print the local directory",
  );
  withConfigOptions(fetch);
  fetch.action(async () => {
    const config = configFromCommand(fetch);
    const model = await resolveModel({
      ...config.model,
      offline: false,
      log: stderrLog(),
    });
    process.stdout.write(
      `${JSON.stringify({ dir: model.dir, name: model.name, revision: model.revision, labels: model.labels })}\n`,
    );
  });
  return new Command("model").description("manage the model files").addCommand(fetch);
}
