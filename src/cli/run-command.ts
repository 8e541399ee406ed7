/**
 * `sentiment-worker run`: the main job. On its embedded default (`input.source: file`) it reads a
 * JSONL file or stdin and writes `sentiment.v1` events to stdout, no broker needed; with
 * `input.source: kafka` it is the live worker until SIGTERM or SIGINT.
 */
import { Command } from "commander";
import { type Config, redactConfig } from "../config/index.js";
import { checkSentimentLabels } from "../events/sentiment-event.js";
import { runFilePipeline } from "../pipeline/file-pipeline.js";
import { startWorker } from "../pipeline/live-worker.js";
import { AdminServer } from "../rollout/admin-server.js";
import { startTelemetry } from "../telemetry/index.js";
import { classifierFromConfig } from "./classifier-from-config.js";
import { configFromCommand, printConfigWarning, withConfigOptions } from "./config-options.js";
import { handleStopSignals } from "./signals.js";
import { VERSION } from "./version.js";

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
  // From the first moment (a signal during start-up exits without waiting for a model download).
  // A stopped worker exits 0: for a service, being stopped is its normal end.
  const signals = handleStopSignals({
    stoppedExitCode: () => 0,
    log: (level, message, fields) => logger[level](fields ?? {}, message),
  });
  try {
    logger.info({ config: redactConfig(config) }, "starting");
    const worker = await startWorker(config, { workerVersion: VERSION, telemetry });
    signals.started();
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
      logger.info({ signal: await Promise.race([signals.requested, worker.failed]) }, "finishing in-flight batches");
    } catch (error) {
      logger.fatal({ err: error }, "the Kafka consumer stopped and will not restart");
      process.exitCode = 1;
    }
    await admin?.close();
    await worker.stop();
    logger.info({ summary: worker.counters.summary() }, "stopped");
    signals.finished();
  } finally {
    await telemetry.shutdown();
  }
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
