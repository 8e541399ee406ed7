/**
 * Every configuration field as a command-line flag (`--batching.maxBatchSize 64`), generated from
 * the schema, plus `--config <file>`. Commands that need configuration call `withConfigOptions`.
 */
import { type Command, Option } from "commander";
import { configFields } from "../config/fields.js";
import { type Config, loadConfigWithWarnings } from "../config/index.js";

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

/** A warning about the configuration, on stderr, before anything else runs. */
export function printConfigWarning(message: string): void {
  process.stderr.write(`sentiment-worker: warning: ${message}\n`);
}

/**
 * Loads the configuration from the process environment and the command's flags. Every command
 * comes through here, so its warnings (a secret given as a flag) reach the user whatever the
 * command; `warn` prints them on stderr unless the command routes them elsewhere.
 */
export function configFromCommand(
  command: Command,
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = printConfigWarning,
): Config {
  const opts = command.opts<Record<string, string | undefined>>();
  const flags: Record<string, string> = {};
  for (const field of configFields()) {
    const value = opts[field.path];
    if (value !== undefined) flags[field.path] = value;
  }
  const { config, warnings } = loadConfigWithWarnings({ file: opts.config, env, flags });
  for (const warning of warnings) warn(warning);
  return config;
}
