/**
 * Every configuration field as a command-line flag (`--batching.maxBatchSize 64`), generated from
 * the schema, plus `--config <file>`. Commands that need configuration call `withConfigOptions`.
 */
import { type Command, Option } from "commander";
import { configFields } from "../config/fields.js";
import { type Config, loadConfig } from "../config/index.js";

const GROUP = "Configuration (flags override the environment, which overrides the file):";

export function withConfigOptions(command: Command): Command {
  command.addOption(new Option("--config <file>", "YAML or JSON configuration file").helpGroup(GROUP));
  for (const field of configFields()) {
    const choices = field.choices ? ` (${field.choices.join("|")})` : "";
    const option = new Option(`--${field.path} <value>`, `${field.description}${choices}`).helpGroup(GROUP);
    command.addOption(option);
  }
  return command;
}

/** Loads the configuration from the process environment and the command's flags. */
export function configFromCommand(command: Command, env: NodeJS.ProcessEnv = process.env): Config {
  const opts = command.opts<Record<string, string | undefined>>();
  const flags: Record<string, string> = {};
  for (const field of configFields()) {
    const value = opts[field.path];
    if (value !== undefined) flags[field.path] = value;
  }
  return loadConfig({ file: opts.config, env, flags });
}
