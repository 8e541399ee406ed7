/**
 * One error hierarchy for the whole worker (after kafkajs's src/errors.js): every error we throw
 * says whether retrying can help and keeps its cause. Classify with `instanceof`, never by name.
 */
export class SentimentWorkerError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** One invalid configuration field: where it is, why it is wrong and where the value came from. */
export interface ConfigProblem {
  path: string;
  reason: string;
  source?: string;
}

/** The configuration cannot be used; start-up stops with every problem listed. */
export class ConfigError extends SentimentWorkerError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  ${p.path || "(root)"}: ${p.reason}${p.source ? ` (from ${p.source})` : ""}`);
    super(`invalid configuration:\n${lines.join("\n")}`);
    this.problems = problems;
  }
}

/** A model directory or download that cannot be used: missing or corrupt files, wrong inputs, no labels. */
export class ModelError extends SentimentWorkerError {}

/** The model hub could not be reached or answered wrongly; retriable when the network may recover. */
export class HubError extends SentimentWorkerError {}

/**
 * A file from the hub that nothing can check: the hub announced no digest of it (no LFS SHA-256, no git
 * blob SHA-1) and no pin in configuration covers it. It is not installed; trying again does not help.
 */
export class UnverifiableDownloadError extends HubError {}

/** The inference queue is at capacity: wait for room (backpressure) and submit again. */
export class QueueFullError extends SentimentWorkerError {
  constructor(capacity: number) {
    super(`the inference queue is full (${capacity} items)`, { retriable: true });
  }
}

/** The batcher was closed; no more work is accepted. */
export class BatcherClosedError extends SentimentWorkerError {
  constructor() {
    super("the batcher is closed");
  }
}

/** The caller gave up on a queued item (its batch was abandoned) before it ran. */
export class AbandonedItemError extends SentimentWorkerError {
  constructor() {
    super("the item was abandoned before it ran");
  }
}

/**
 * A chunk (a partition's records committed as one transaction) became obsolete before its commit:
 * a rebalance or seek took its partition, or the drain timeout of a stop ran out. Nothing of it is
 * committed; its records are read again by whoever owns the partition then, so retrying it here
 * cannot help.
 */
export class AbandonedChunkError extends SentimentWorkerError {
  constructor() {
    super("the chunk was abandoned before its commit (rebalance, seek or drain timeout)");
  }
}

/** Running the model on a batch failed. */
export class InferenceError extends SentimentWorkerError {}

/**
 * Redis did not answer a de-duplication call (down, unreachable, timed out or refusing writes) in
 * `fail` mode. Retriable: pause consumption, wait for Redis to answer again, then claim again.
 */
export class DedupUnavailableError extends SentimentWorkerError {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? { retriable: true } : { cause, retriable: true });
  }
}

/** This worker no longer owns an input partition: another initialised its transactional id. */
export class FencedError extends SentimentWorkerError {}

/**
 * The commit of a transaction (EndTxn) failed without an answer: the coordinator moved or the
 * connection dropped. The outputs may or may not be committed; only the committed offset, read
 * after fencing the transactional id again, says which.
 */
export class CommitOutcomeUnknownError extends SentimentWorkerError {
  constructor(message: string, cause: unknown) {
    super(message, { cause, retriable: true });
  }
}

/**
 * The outputs were acknowledged but the input offset could not be committed (at-least-once): the
 * records will be read again, and their outputs exist, so their de-duplication claims stand.
 */
export class OffsetCommitError extends SentimentWorkerError {
  constructor(message: string, cause: unknown) {
    super(message, { cause, retriable: true });
  }
}

/** The consumer group refused this member (a setting the broker rejects, a missing ACL). */
export class GroupJoinError extends SentimentWorkerError {}

/**
 * The schema registry did not answer a schema lookup (down, unreachable, timed out, refused our
 * credentials, or answered something that is not a schema). Not the record's fault: the chunk
 * waits and asks again (readiness false) until it answers.
 */
export class SchemaRegistryUnavailableError extends SentimentWorkerError {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? { retriable: true } : { cause, retriable: true });
  }
}
