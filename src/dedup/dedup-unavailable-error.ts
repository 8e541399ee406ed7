import { SentimentWorkerError } from "../errors/errors.js";

/**
 * Redis did not answer a de-duplication call (down, unreachable, timed out or refusing writes) in
 * `fail` mode. Retriable: pause consumption, wait for `onAvailabilityChange(true)`, then claim again.
 */
export class DedupUnavailableError extends SentimentWorkerError {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? { retriable: true } : { cause, retriable: true });
  }
}
