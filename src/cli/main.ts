#!/usr/bin/env node
/** The `sentiment-worker` command. */
import { Command } from "commander";
import { redactError, redactText } from "../config/index.js";
import { ConfigError, SentimentWorkerError } from "../errors/errors.js";
import { classifyCommand } from "./classify-command.js";
import { compareCommand } from "./compare-command.js";
import { configCommand } from "./config-command.js";
import { modelCommand } from "./model-command.js";
import { produceCommand } from "./produce-command.js";
import { replayCommand } from "./replay-command.js";
import { runCommand } from "./run-command.js";
import { tailCommand } from "./tail-command.js";
import { VERSION } from "./version.js";

/** Exit status for an unusable configuration (EX_CONFIG from sysexits.h). */
const EXIT_CONFIG = 78;

// A reader that went away (`| head`) ends the output; that is not an error worth a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

const program = new Command("sentiment-worker")
  .description("Tags multilingual social-feed messages with sentiment.")
  .version(VERSION)
  .addCommand(runCommand())
  .addCommand(replayCommand())
  .addCommand(classifyCommand())
  .addCommand(compareCommand())
  .addCommand(modelCommand())
  .addCommand(configCommand())
  .addCommand(produceCommand())
  .addCommand(tailCommand());

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Whatever is printed goes through redactText: a message may quote a URL with its credentials.
  if (e instanceof ConfigError) {
    process.stderr.write(`sentiment-worker: ${redactText(e.message)}\n`);
    process.exitCode = EXIT_CONFIG;
  } else if (e instanceof SentimentWorkerError) {
    // Our own errors carry a message written for the user; a stack trace would bury it.
    process.stderr.write(`sentiment-worker: ${redactText(e.message)}\n`);
    process.exitCode = 1;
  } else {
    // Node prints the stack and every cause of what is thrown from here.
    throw redactError(e);
  }
}
