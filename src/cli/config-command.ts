/** `sentiment-worker config`: the effective configuration, secrets redacted, or its reference. */
import { Command } from "commander";
import { stringify } from "yaml";
import { configReference, redactConfig } from "../config/index.js";
import { configFromCommand, withConfigOptions } from "./config-options.js";

export function configCommand(): Command {
  const command = new Command("config")
    .description("print the effective configuration (secrets redacted) and exit; non-zero when it is invalid")
    .option("--json", "print JSON instead of YAML")
    .option("--reference", "print the configuration reference (Markdown) instead");
  withConfigOptions(command);
  return command.action((opts: { json?: boolean; reference?: boolean }) => {
    if (opts.reference) {
      process.stdout.write(`${configReference()}\n`);
      return;
    }
    const config = redactConfig(configFromCommand(command));
    process.stdout.write(opts.json ? `${JSON.stringify(config, null, 2)}\n` : stringify(config));
  });
}
