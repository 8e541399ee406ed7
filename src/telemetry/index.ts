export type { HealthServer, ReadinessChecks } from "./health-server.js";
export { createLimitedServer, HTTP_LIMITS, type HttpLimits } from "./http-limits.js";
export { createLogger, type Log, type Logger, logTo } from "./logger.js";
export { WorkerMetrics } from "./metrics.js";
export { ATTRIBUTES, LABELS, METRICS, SPANS } from "./names.js";
export { startTelemetry, type Telemetry, type TelemetryOptions } from "./telemetry.js";
export { type ChunkTrace, WorkerTracing } from "./tracing.js";
