/**
 * Log lines for a person at a terminal (the one-shot commands: classify, model fetch, replay):
 * `sentiment-worker: message key=value …` on stderr, so stdout stays the command's output.
 */
import { redactText } from "../config/index.js";

export type FieldLog = (message: string, fields?: Record<string, unknown>) => void;

export function stderrLog(write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): FieldLog {
  return (message, fields = {}) => {
    const details = Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    // A field may be an error's message that quotes a URL with its credentials.
    write(redactText(`sentiment-worker: ${message}${details.join("")}`));
  };
}
