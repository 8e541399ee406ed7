/**
 * `sentiment-worker run`: the main job. On its embedded default (`input.source: file`) it reads a
 * JSONL file or stdin and writes `sentiment.v1` events to stdout, no broker needed; with
 * `input.source: kafka` it is the live worker until SIGTERM or SIGINT.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "commander";
import { type Config, redactConfig } from "../config/index.js";
import { runFilePipeline } from "../pipeline/file-pipeline.js";
import { checkSentimentLabels, startWorker } from "../pipeline/live-worker.js";
import { AdminServer } from "../rollout/admin-server.js";
import { startTelemetry } from "../telemetry/index.js";
import { threadsLoaded } from "../threads/worker-channel.js";
import { classifierFromConfig } from "./classifier-from-config.js";
import { configFromCommand, printConfigWarning, withConfigOptions } from "./config-options.js";
import { VERSION } from "./version.js";

/** How long a signal during start-up waits for threads still loading before the process exits. */
const START_UP_EXIT_WAIT_MS = 30_000;

async function runFile(config: Config): Promise<void> {
  const classifier = await classifierFromConfig(config);
  try {
    checkSentimentLabels(classifier.model.labels);
    const counters = await runFilePipeline(config, classifier);
    process.stderr.write(`${JSON.stringify({ summary: counters.summary() })}\n`);
  } finally {
    await classifier.close();
  }
}

/**
 * The live worker until SIGTERM/SIGINT. The HTTP server starts first, so `/healthz` answers and
 * `/readyz` says "not ready" while the model loads; a consumer that died for good exits 1.
 */
async function runKafka(config: Config, warnings: readonly string[]): Promise<void> {
  const telemetry = await startTelemetry(config.telemetry, { version: VERSION, serve: true });
  const { logger } = telemetry;
  for (const warning of warnings) logger.warn(warning);
  let started = false;
  // Handled from the first moment: during start-up nothing is in flight, so a stop exits at once
  // instead of waiting for a model download to finish.
  const signal = new Promise<string>((resolve) => {
    for (const name of ["SIGTERM", "SIGINT"] as const) {
      process.once(name, () => {
        if (started) return resolve(name);
        logger.info({ signal: name }, "signal during start-up: exiting");
        // Not while a thread loads its native module or model: that aborts the process. A load
        // takes seconds at most; a hung one is bounded so the signal still ends the process.
        void Promise.race([threadsLoaded(), sleep(START_UP_EXIT_WAIT_MS)]).then(() => process.exit(0));
      });
    }
  });
  try {
    logger.info({ config: redactConfig(config) }, "starting");
    const worker = await startWorker(config, { workerVersion: VERSION, telemetry });
    started = true;
    const { adminPort, adminHost, adminToken, adminAllowedHosts } = config.rollout;
    const admin =
      adminPort !== 0
        ? await AdminServer.listen(worker.rollout, {
            port: adminPort,
            host: adminHost,
            token: adminToken,
            allowedHosts: adminAllowedHosts,
          }).catch(async (error: unknown) => {
            await worker.stop();
            throw error;
          })
        : undefined;
    if (admin) {
      const auth = adminToken === undefined ? "none (loopback)" : "bearer token";
      logger.info({ host: adminHost, port: admin.port, auth }, "serving the admin endpoints /model and /shadow");
    }
    logger.info("ready");
    try {
      logger.info({ signal: await Promise.race([signal, worker.failed]) }, "finishing in-flight batches");
    } catch (error) {
      logger.fatal({ err: error }, "the Kafka consumer stopped and will not restart");
      process.exitCode = 1;
    }
    await admin?.close();
    await worker.stop();
    logger.info({ summary: worker.counters.summary() }, "stopped");
    exitIfHeld(logger);
  } finally {
    await telemetry.shutdown();
  }
}

/** How long a stopped worker may take to let go of its last handles before it exits anyway. */
const LINGER_MS = 2_000;

/**
 * After a clean stop everything is committed and closed, so nothing is lost by exiting; but a
 * handle may still be open — the Kafka client, when the stop came while its consumer was
 * restarting after a broker loss (the soak saw one such SIGTERM end in SIGKILL after 30 s). The
 * timer is unref'd: a process that lets go on its own exits at once.
 */
function exitIfHeld(logger: { warn(message: string): void }): void {
  setTimeout(() => {
    logger.warn("stopped, but a connection still held the process: exiting");
    process.exit(process.exitCode ?? 0);
  }, LINGER_MS).unref();
}

export function runCommand(): Command {
  const command = new Command("run").description(
    "tag every message of the input (input.source: a JSONL file or stdin by default, or Kafka) and write sentiment.v1 events",
  );
  withConfigOptions(command);
  return command.action(async () => {
    // The live worker logs JSON on stderr: its warnings go through the logger, as log lines.
    const warnings: string[] = [];
    const config = configFromCommand(command, process.env, (warning) => warnings.push(warning));
    if (config.input.source === "kafka") return runKafka(config, warnings);
    for (const warning of warnings) printConfigWarning(warning);
    await runFile(config);
  });
}
