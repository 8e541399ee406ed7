/**
 * The telemetry of one process, as a small interface the pipeline uses: logs, metrics, traces and
 * (for the CLI) the health server. `startTelemetry` builds it from `telemetry.*` configuration.
 */
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { Config } from "../config/index.js";
import { HealthServer, type ReadinessChecks } from "./health-server.js";
import { createLogger, type Logger } from "./logger.js";
import { WorkerMetrics } from "./metrics.js";
import { WorkerTracing } from "./tracing.js";

export interface Telemetry {
  readonly logger: Logger;
  readonly metrics: WorkerMetrics;
  readonly tracing: WorkerTracing;
  /** The HTTP server, when one was asked for and `telemetry.httpPort` is not 0. */
  readonly server: HealthServer | undefined;
  /** What `/readyz` and the `sw.ready` gauge report from now on. */
  setReadiness(checks: ReadinessChecks): void;
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  version: string;
  /** Start the HTTP server on `telemetry.httpPort` (the CLI does; `startWorker` by default does not). */
  serve?: boolean;
  /** Overrides the logger (tests, embedding programs). */
  logger?: Logger;
}

export async function startTelemetry(config: Config["telemetry"], options: TelemetryOptions): Promise<Telemetry> {
  const resource = resourceFromAttributes({ "service.name": "sentiment-worker", "service.version": options.version });
  const logger = options.logger ?? createLogger(config.logLevel, options.version);
  const metrics = new WorkerMetrics({ resource, otlpEndpoint: config.otlpEndpoint });
  const tracing = new WorkerTracing({ resource, otlpEndpoint: config.otlpEndpoint, version: options.version });
  const server =
    options.serve && config.httpPort !== 0 ? await HealthServer.listen(config.httpPort, metrics) : undefined;
  if (server) logger.info({ port: server.port }, "serving /healthz, /readyz and /metrics");
  let closed: Promise<void> | undefined;
  return {
    logger,
    metrics,
    tracing,
    server,
    setReadiness(checks) {
      server?.setReadiness(checks);
      metrics.setReadiness(checks);
    },
    shutdown() {
      closed ??= (async () => {
        await server?.close();
        await Promise.allSettled([tracing.shutdown(), metrics.shutdown()]);
      })();
      return closed;
    },
  };
}
