#!/usr/bin/env node
/** The `sentiment-worker` command. */
import { Command } from "commander";
import { ConfigError } from "../errors/errors.js";
import { configCommand } from "./config-command.js";
import { VERSION } from "./version.js";

/** Exit status for an unusable configuration (EX_CONFIG from sysexits.h). */
const EXIT_CONFIG = 78;

const program = new Command("sentiment-worker")
  .description("Tags multilingual social-feed messages with sentiment.")
  .version(VERSION)
  .addCommand(configCommand());

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`sentiment-worker: ${e.message}\n`);
    process.exitCode = EXIT_CONFIG;
  } else {
    throw e;
  }
}
