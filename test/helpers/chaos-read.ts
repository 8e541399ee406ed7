/**
 * An exact read_committed view of a topic for chaos checks. kafkajs's own read_committed filter
 * (consumer/filterAbortedMessages.js) lets records of aborted transactions through when several
 * transactional producers interleave on a partition (seen here: the per-partition producers of
 * three workers after a SIGKILL); a Java read_committed consumer hides them. So this reads
 * uncommitted and decides itself: a transactional record counts once its producer's COMMIT marker
 * follows, and never after an ABORT or with no marker (a transaction still open).
 *
 * kafkajs never hands eachBatch a fetch that holds only control records, so a marker at a
 * partition's very end would go unseen: one plain record (a sentinel, left out of the result) is
 * appended to each partition first. Call it once every writer has stopped.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Kafka } from "kafkajs";
import type { ReadRecord } from "./kafka.js";
import { uniqueName } from "./names.js";

const SENTINEL = "chaos-read-sentinel";
const COMMIT_MARKER = Buffer.from([0, 0, 0, 1]);

interface RawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: ReadRecord["headers"];
  isControlRecord?: boolean;
  batchContext?: { producerId: string; inTransaction: boolean };
}

export interface CommittedView {
  records: ReadRecord[];
  /** Records of transactions with neither marker at the end (should be none once writers stopped). */
  open: number;
  /** Records of aborted transactions, which a read_committed reader must not see. */
  aborted: number;
}

export async function readCommittedExactly(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<CommittedView> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const partitions = (await admin.fetchTopicOffsets(topic)).map((e) => e.partition);
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: partitions.map((partition) => ({ partition, value: SENTINEL })) });
    } finally {
      await producer.disconnect();
    }
    ends = new Map((await admin.fetchTopicOffsets(topic)).map((e) => [e.partition, BigInt(e.high)]));
  } finally {
    await admin.disconnect();
  }

  const next = new Map<number, bigint>();
  const pending = new Map<string, ReadRecord[]>();
  const records: ReadRecord[] = [];
  let aborted = 0;
  const consumer = kafka.consumer({ groupId: uniqueName("exact-reader"), readUncommitted: true });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const partition = batch.partition;
      // rawMessages: the fetch as read, control records included (not in the typings).
      for (const m of (batch as unknown as { rawMessages: RawMessage[] }).rawMessages) {
        const offset = BigInt(m.offset);
        // Compressed batches may start before the fetched offset; a re-fetch repeats records.
        if (offset < (next.get(partition) ?? 0n)) continue;
        next.set(partition, offset + 1n);
        const producerKey = `${partition}:${m.batchContext?.producerId ?? "-1"}`;
        if (m.isControlRecord) {
          const txn = pending.get(producerKey) ?? [];
          pending.delete(producerKey);
          if (m.key && Buffer.from(m.key).equals(COMMIT_MARKER)) records.push(...txn);
          else aborted += txn.length;
          continue;
        }
        if (m.value?.toString() === SENTINEL) continue;
        const record: ReadRecord = {
          partition,
          offset: m.offset,
          key: m.key?.toString() ?? null,
          value: m.value,
          headers: m.headers ?? {},
        };
        if (m.batchContext?.inTransaction) {
          const txn = pending.get(producerKey) ?? [];
          txn.push(record);
          pending.set(producerKey, txn);
        } else {
          records.push(record);
        }
      }
    },
  });
  const deadline = Date.now() + timeoutMs;
  const done = () => [...ends].every(([p, end]) => (next.get(p) ?? 0n) >= end);
  while (!done() && Date.now() < deadline) await sleep(100);
  await consumer.disconnect();
  if (!done()) throw new Error(`could not read ${topic} to its end within ${timeoutMs} ms`);
  const open = [...pending.values()].reduce((n, txn) => n + txn.length, 0);
  records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  return { records, open, aborted };
}
