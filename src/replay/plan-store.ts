/**
 * Stores a new replay plan so that processes started together agree on one: the first to store it
 * wins, the others read it back. Offset commits have no compare-and-set, so the store is a
 * transaction of the replay's own plan transactional id (`<group>-plan`) carrying every partition's
 * start offset with the plan as metadata: initialising that id fences whichever process is between
 * its look and its commit (its commit then fails, and it looks again), so a plan is committed only
 * when none was stored as the committing process looked. A plan already stored is adopted as is.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { SentimentWorkerError } from "../errors/errors.js";
import { retry } from "../errors/retry.js";
import type { KafkaClient } from "../kafka/client.js";
import { kafkaErrorType } from "../kafka/errors.js";
import { planMetadata, type ReplayPlan, type RunIdentity, readStoredPlan } from "./replay-plan.js";
import type { ReplaySpec } from "./replay-spec.js";

export interface PlanStoreOptions {
  transactionTimeoutMs: number;
  /** Looks at a just-committed plan until it is visible (its markers written): at most this long. */
  visibleWithinMs?: number;
}

/** The transactional id that serialises the plan's store (prefixed by the group, as the sink's ids are). */
export const planTransactionalId = (groupId: string) => `${groupId}-plan`;

/** Stores `plan` unless a plan is stored already; resolves with the plan every process runs. */
export async function storeOrAdoptPlan(
  kafka: Pick<KafkaClient, "admin" | "transactionalProducer">,
  spec: ReplaySpec,
  plan: ReplayPlan,
  run: RunIdentity,
  options: PlanStoreOptions,
): Promise<ReplayPlan> {
  const { groupId } = plan;
  const attempt = async (): Promise<ReplayPlan> => {
    const producer = await kafka.transactionalProducer({
      transactionalId: planTransactionalId(groupId),
      transactionTimeoutMs: options.transactionTimeoutMs,
    });
    try {
      // Initialises the id (fencing any other process's store in progress), then begins.
      const transaction = await producer.transaction();
      const stored = await readStoredPlan(kafka.admin, groupId, spec);
      // Nothing was added to the transaction: it ends with the producer, no abort needed.
      if (stored) return stored;
      for (const p of plan.partitions) {
        await transaction.sendOffsets(groupId, {
          topic: spec.topic,
          partition: p.partition,
          offset: p.start.toString(),
          metadata: planMetadata(plan, p, run),
        });
      }
      await transaction.commit();
    } finally {
      await producer.disconnect().catch(() => {});
    }
    const visible = await visiblePlan(kafka, spec, groupId, options.visibleWithinMs ?? 10_000);
    // Ours (as `stored` says of a plan resolved here), unless another was stored in between.
    return visible.id === plan.id ? { ...visible, stored: false } : visible;
  };
  try {
    return await retry(attempt, {
      attempts: 8,
      backoff: { initialMs: 100, maxMs: 2000 },
      // Fenced by another process's look (the usual race), a coordinator moving: look again. A
      // refused transactional id will not be allowed by trying again.
      retryIf: (error) =>
        !(error instanceof SentimentWorkerError) && !/AUTHORIZATION_FAILED$/.test(kafkaErrorType(error) ?? ""),
    });
  } catch (error) {
    if (error instanceof SentimentWorkerError) throw error;
    throw new SentimentWorkerError(
      `could not store the plan of replay ${groupId} (transactional id ${planTransactionalId(groupId)}; ` +
        `an ACL must allow it, as the worker's <groupId>-<topic>-<partition> ids): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** The plan as stored, once the committed transaction's offsets can be read (the markers follow the commit). */
async function visiblePlan(
  kafka: Pick<KafkaClient, "admin">,
  spec: ReplaySpec,
  groupId: string,
  withinMs: number,
): Promise<ReplayPlan> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const stored = await readStoredPlan(kafka.admin, groupId, spec);
    if (stored) return stored;
    if (Date.now() > deadline) {
      throw new SentimentWorkerError(`the plan of replay ${groupId} was committed but cannot be read back`, {
        retriable: true,
      });
    }
    await sleep(50);
  }
}
