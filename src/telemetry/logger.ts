/**
 * JSON logs on stderr (pino). Secrets never reach a log line: the configuration is logged only
 * through `redactConfig`, and the paths below are censored in case an object carries them anyway.
 */
import { type Logger, pino } from "pino";
import { type Config, redactText } from "../config/index.js";

export type { Logger };

const SECRET_PATHS = ["*.password", "*.*.password", "*.*.*.password", "*.token", "*.*.token"];

/**
 * pino's own error serializer (the message and stack of the error and of its causes, and its other
 * fields) with `redactText` over every string: a message may quote a URL with its credentials.
 */
function redactedErr(error: unknown): unknown {
  const out = pino.stdSerializers.err(error as Error) as unknown;
  if (typeof out !== "object" || out === null) return typeof out === "string" ? redactText(out) : out;
  const fields = out as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) if (typeof value === "string") fields[key] = redactText(value);
  return fields;
}

export function createLogger(level: Config["telemetry"]["logLevel"], version: string): Logger {
  return pino(
    {
      level,
      base: { service: "sentiment-worker", version },
      redact: { paths: SECRET_PATHS, censor: "[redacted]" },
      serializers: { err: redactedErr },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    // Synchronous: the last lines before an exit (summary, fatal error) must not be lost.
    pino.destination({ dest: 2, sync: true }),
  );
}

/**
 * How the other modules log: a message that stays the same for every occurrence, and the
 * specifics (topic, partition, offset, reason) as fields, so logs can be searched and counted.
 */
export type Log = (message: string, fields?: Record<string, unknown>) => void;

/** A `Log` that writes info lines to the logger. */
export const logTo =
  (logger: Logger): Log =>
  (message, fields) =>
    fields ? logger.info(fields, message) : logger.info(message);
