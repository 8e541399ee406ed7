/**
 * The client contract (client.ts) on kafkajs: the only module that drives kafkajs's consumer,
 * producers and admin. What kafkajs gets wrong for this worker is handled here, once:
 * a commit that must work while stopping, the offset metadata its types omit, and the
 * CONCURRENT_TRANSACTIONS it does not retry in `sendOffsets`.
 */
import type { Admin, Consumer, Kafka as KafkaJS, Transaction as KafkaTransaction, PartitionOffset } from "kafkajs";
import type { Config } from "../config/index.js";
import { retry } from "../errors/retry.js";
import type {
  GroupMember,
  GroupMemberOptions,
  GroupOffset,
  KafkaAdmin,
  KafkaClient,
  MemberHandlers,
  RecordProducer,
  Subscription,
  TopicRecords,
  Transaction,
  TransactionalOptions,
  TransactionalProducer,
} from "./client.js";
import { kafkaClientConfig } from "./client-config.js";
import { connectAdmin } from "./connect.js";
import { kafkaErrorType } from "./errors.js";
import { Kafka } from "./kafkajs.js";
import { createPartitioner } from "./partitioner.js";
import { ensureTopics, maxMessageBytes } from "./topics.js";

/** Connects to the cluster of `config` (a failure names the setting to fix). */
export async function connectKafka(config: Config["kafka"]): Promise<KafkaClient> {
  const kafka = new Kafka(kafkaClientConfig(config));
  return kafkaClient(kafka, await connectAdmin(kafka, config));
}

/** The contract on a kafkajs client and a connected admin of it (tests build theirs this way). */
export function kafkaClient(kafka: KafkaJS, admin: Admin): KafkaClient {
  return {
    admin: adminOf(admin),
    member: (options) => memberOf(kafka, options),
    producer: async () => {
      // One in flight: the idempotent producer could reorder on retry otherwise (kjs#598).
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner });
      await producer.connect();
      return {
        send: async (request) => {
          await producer.sendBatch({ topicMessages: request, acks: -1 });
        },
        disconnect: () => producer.disconnect(),
      } satisfies RecordProducer;
    },
    transactionalProducer: (options) => transactionalProducer(kafka, options),
    close: () => admin.disconnect(),
  };
}

/** kafkajs sends a partition's `metadata` in OffsetCommit and TxnOffsetCommit although its types omit it. */
function partitionOffset(offset: string, partition: number, metadata: string | null | undefined) {
  return { partition, offset, ...(metadata != null ? { metadata } : {}) } as PartitionOffset;
}

function adminOf(admin: Admin): KafkaAdmin {
  return {
    listTopics: () => admin.listTopics(),
    ensureTopics: (required, create) => ensureTopics(admin, required, create),
    maxMessageBytes: (topics) => maxMessageBytes(admin, topics),
    committedOffsets: async (groupId, topic) => {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return (entry?.partitions ?? []).map((p) => ({
        topic,
        partition: p.partition,
        offset: p.offset,
        metadata: p.metadata,
      }));
    },
    partitionEnds: async (topic) =>
      (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ partition, low, high })),
    offsetsAtTime: async (topic, ms) =>
      (await admin.fetchTopicOffsetsByTimestamp(topic, ms)).map(({ partition, offset }) => ({ partition, offset })),
    deleteGroup: async (groupId) => {
      try {
        await admin.deleteGroups([groupId]);
        return "deleted";
      } catch (error) {
        const groups = (error as { groups?: Array<{ error?: { type?: string } }> }).groups ?? [];
        if (groups.length > 0 && groups.every((g) => g.error?.type === "GROUP_ID_NOT_FOUND")) return "missing";
        if (groups.some((g) => g.error?.type === "NON_EMPTY_GROUP")) return "not-empty";
        throw error;
      }
    },
  };
}

function memberOf(kafka: KafkaJS, options: GroupMemberOptions): GroupMember {
  let disconnecting = false;
  const consumer: Consumer = kafka.consumer({
    // kafkajs restarts a crashed consumer after a delay, even when the crash came while it was
    // being stopped: the restarted consumer then kept a stopped worker's process alive.
    retry: { retries: 5, restartOnFailure: async () => !disconnecting },
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    rebalanceTimeout: options.rebalanceTimeoutMs,
    heartbeatInterval: options.heartbeatIntervalMs,
    // Outputs of aborted transactions upstream are not input.
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  return {
    run: (subscription, handlers) => runMember(consumer, subscription, handlers),
    pause: (topic, partitions) => consumer.pause([{ topic, partitions }]),
    seek: ({ topic, partition }, offset) => consumer.seek({ topic, partition, offset }),
    commitOffsets: (offsets) =>
      consumer.commitOffsets(
        offsets.map((o) => ({ topic: o.topic, ...partitionOffset(o.offset, o.partition, o.metadata) })),
      ),
    disconnect: () => {
      disconnecting = true;
      return consumer.disconnect();
    },
  };
}

async function runMember(consumer: Consumer, subscription: Subscription, handlers: MemberHandlers): Promise<void> {
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    handlers.joined(
      Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      ),
    );
  });
  consumer.on(consumer.events.REBALANCING, () => handlers.rebalancing());
  consumer.on(consumer.events.STOP, () => handlers.stopped());
  consumer.on(consumer.events.CRASH, (event) => handlers.crashed(event.payload.error, event.payload.restart));
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const { topic, partition, batchSize, firstOffset, lastOffset } = event.payload;
    // kafkajs moved past a fetch of only markers or aborted records without calling eachBatch.
    if (batchSize === 0 && firstOffset !== null) handlers.skipped({ topic, partition }, lastOffset);
  });
  await consumer.connect();
  const topics: (string | RegExp)[] = [...subscription.topics];
  if (subscription.pattern) topics.push(new RegExp(subscription.pattern));
  await consumer.subscribe({ topics, fromBeginning: subscription.fromBeginning });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: subscription.concurrency,
    eachBatch: async ({ batch, heartbeat, isStale, isRunning, resolveOffset, commitOffsetsIfNecessary }) => {
      await handlers.batch({
        topic: batch.topic,
        partition: batch.partition,
        records: batch.messages,
        highWatermark: batch.highWatermark,
        lastOffset: () => batch.lastOffset(),
        heartbeat,
        isStale,
        isRunning,
        resolveOffset,
        // kafkajs's `consumer.commitOffsets` returns without committing once the consumer is
        // stopping (at-least-once then repeated every batch finished after SIGTERM); the payload's
        // own commit goes straight to the group coordinator with the current generation.
        commitOffset: (nextOffset, metadata) =>
          commitOffsetsIfNecessary({
            topics: [{ topic: batch.topic, partitions: [partitionOffset(nextOffset, batch.partition, metadata)] }],
          }),
      });
    },
  });
}

async function transactionalProducer(
  kafka: KafkaJS,
  { transactionalId, transactionTimeoutMs }: TransactionalOptions,
): Promise<TransactionalProducer> {
  const producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: transactionTimeoutMs,
    createPartitioner,
  });
  await producer.connect();
  return {
    transaction: async () => transactionOf(await producer.transaction()),
    disconnect: () => producer.disconnect(),
  };
}

function transactionOf(transaction: KafkaTransaction): Transaction {
  return {
    send: async (request: TopicRecords[]) => {
      await transaction.sendBatch({ topicMessages: request });
    },
    sendOffsets: (groupId: string, offset: GroupOffset) =>
      // kafkajs does not retry CONCURRENT_TRANSACTIONS inside sendOffsets (kjs#1068): the previous
      // transaction's markers are still being written; a short wait is enough.
      retry(
        () =>
          transaction.sendOffsets({
            consumerGroupId: groupId,
            topics: [
              { topic: offset.topic, partitions: [partitionOffset(offset.offset, offset.partition, offset.metadata)] },
            ],
          }),
        {
          attempts: 20,
          backoff: { initialMs: 50, maxMs: 1000 },
          retryIf: (error) => kafkaErrorType(error) === "CONCURRENT_TRANSACTIONS",
        },
      ),
    commit: () => transaction.commit(),
    abort: () => transaction.abort(),
  };
}
