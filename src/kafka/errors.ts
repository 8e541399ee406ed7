/**
 * kafkajs errors classified by their protocol error type (never by message text), through the
 * causes kafkajs wraps them in (retries exceeded, non-retriable).
 */

/** Codes of brokers newer than kafkajs, which it reports as "Unknown error code N". */
const NEWER_CODES = new Map([[90, "PRODUCER_FENCED"]]);
const UNKNOWN_CODE = /^Unknown error code (\d+)$/;

/** The protocol error type of an error or of the first of its causes that has one. */
export function kafkaErrorType(error: unknown): string | undefined {
  for (let e = error as { type?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 6; i++) {
    if (e.type === "KAFKAJS_UNKNOWN_ERROR_CODE" && typeof e.message === "string") {
      const code = Number(UNKNOWN_CODE.exec(e.message)?.[1]);
      return NEWER_CODES.get(code) ?? e.type;
    }
    if (typeof e.type === "string") return e.type;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** This producer's transactional id was initialised by someone else: it may not send or commit again. */
export function meansFenced(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return (
    type === "INVALID_PRODUCER_EPOCH" || type === "PRODUCER_FENCED" || type === "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"
  );
}

/** The consumer's group generation is over: it must rejoin. */
export function meansRejoin(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return (
    type === "REBALANCE_IN_PROGRESS" ||
    type === "ILLEGAL_GENERATION" ||
    type === "UNKNOWN_MEMBER_ID" ||
    type === "FENCED_INSTANCE_ID"
  );
}
