/**
 * kafkajs 2.2.4's `producer/sendMessages.js` with one fix: what a retry still has to send is
 * decided per partition (those no broker acknowledged yet), not per Broker object.
 *
 * kafkajs remembers, across the retries of one send, which brokers answered, in a Map keyed by the
 * Broker object. An attempt that failed between looking up the leaders of two topics (a broker
 * that just restarted refuses the connection) left the first topic's Broker in that Map with no
 * answer; the retry looked the node up again, got a new Broker object for it after the reconnect,
 * and sent every partition of that node once for each object: the same records twice, each with
 * its own sequence numbers, so the broker kept both; inside a transaction both copies commit
 * (`test/unit/kafka-fixes.test.ts` shows it on kafkajs's own module). Keyed by
 * partition, a retry also sends a partition whose leader moved to a broker that had answered for
 * others, which kafkajs's per-broker bookkeeping skipped. It also groups a send's records by
 * partition in linear time (groupMessagesPerPartition below). Same inputs and outputs as kafkajs's
 * module, so it replaces it (see kafkajs.ts).
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { KafkaJSMetadataNotLoaded } = require("kafkajs/src/errors") as {
  KafkaJSMetadataNotLoaded: new (message: string) => Error;
};
const { staleMetadata } = require("kafkajs/src/protocol/error") as { staleMetadata: (e: unknown) => boolean };
type Partitioner = (options: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;

/**
 * A send's messages by the partition `partitioner` gives each, in order: kafkajs's
 * `producer/groupMessagesPerPartition.js` gives the same, but copies a partition's array for every
 * message it adds (`[...current, message]`), time quadratic in a send's records per partition: 6%
 * of the main thread's time in the e2e bench (docs/benchmarks.md).
 */
export function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  topic: string;
  partitionMetadata: unknown[];
  messages: unknown[];
  partitioner: unknown;
}): Record<string, unknown[]> {
  const groups: Record<string, unknown[]> = {};
  if (partitionMetadata.length === 0) return groups;
  for (const message of messages) {
    const partition = (partitioner as Partitioner)({ topic, partitionMetadata, message });
    const group = groups[partition];
    if (group) group.push(message);
    else groups[partition] = [message];
  }
  return groups;
}
const responseSerializer = require("kafkajs/src/producer/responseSerializer") as (response: unknown) => unknown[];

interface Broker {
  nodeId: number;
  produce(request: Record<string, unknown>): Promise<unknown>;
}

interface Cluster {
  refreshMetadataIfNecessary(): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): unknown[];
  findLeaderForPartitions(topic: string, partitions: string[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<Broker>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  isConnected(): boolean;
  connect(): Promise<void>;
  removeBroker(options: { host: unknown; port: unknown }): void;
}

interface EosManager {
  isTransactional(): boolean;
  addPartitionsToTransaction(topicData: TopicData[]): Promise<void>;
  acquireBrokerLock(broker: Broker): Promise<void>;
  releaseBrokerLock(broker: Broker): Promise<void> | void;
  getSequence(topic: string, partition: number): number;
  updateSequence(topic: string, partition: number, increment: number): void;
  getTransactionalId(): string;
  getProducerId(): unknown;
  getProducerEpoch(): unknown;
}

interface Logger {
  debug(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
}

type Retrier = <T>(
  attempt: (bail: (error: Error) => void, retryCount: number, retryTime: number) => Promise<T>,
) => Promise<T>;

interface TopicData {
  topic: string;
  partitions: { partition: number; messages: unknown[]; firstSequence?: number }[];
}

interface SendOptions {
  acks: number;
  timeout?: number;
  compression?: unknown;
  topicMessages: { topic: string; messages: unknown[] }[];
}

type KafkaError = Error & { host?: unknown; port?: unknown; retriable?: boolean };

export function createSendMessages({
  logger,
  cluster,
  partitioner,
  eosManager,
  retrier,
}: {
  logger: Logger;
  cluster: Cluster;
  partitioner: unknown;
  eosManager: EosManager;
  retrier: Retrier;
}) {
  return async ({ acks, timeout, compression, topicMessages }: SendOptions): Promise<unknown[]> => {
    /** Partitions a broker acknowledged (`topic:partition`), across attempts, and the answers. */
    const acknowledged = new Set<string>();
    const responses: unknown[] = [];

    const sendToNode = async (broker: Broker, topicData: TopicData[]): Promise<void> => {
      await eosManager.acquireBrokerLock(broker);
      try {
        if (eosManager.isTransactional()) await eosManager.addPartitionsToTransaction(topicData);
        for (const { topic, partitions } of topicData) {
          for (const entry of partitions) {
            entry.firstSequence = eosManager.getSequence(topic, entry.partition);
            eosManager.updateSequence(topic, entry.partition, entry.messages.length);
          }
        }
        let response: unknown;
        try {
          response = await broker.produce({
            transactionalId: eosManager.isTransactional() ? eosManager.getTransactionalId() : undefined,
            producerId: eosManager.getProducerId(),
            producerEpoch: eosManager.getProducerEpoch(),
            acks,
            timeout,
            compression,
            topicData,
          });
        } catch (error) {
          for (const { topic, partitions } of topicData) {
            for (const entry of partitions) eosManager.updateSequence(topic, entry.partition, -entry.messages.length);
          }
          throw error;
        }
        for (const { topic, partitions } of topicData) {
          for (const { partition } of partitions) acknowledged.add(`${topic}:${partition}`);
        }
        if (acks !== 0) responses.push(...responseSerializer(response));
      } finally {
        await eosManager.releaseBrokerLock(broker);
      }
    };

    const attempt = async (): Promise<void> => {
      await cluster.refreshMetadataIfNecessary();
      /** Per leader, the partitions of each topic not acknowledged yet. */
      const perNode = new Map<number, TopicData[]>();
      for (const { topic, messages } of topicMessages) {
        const partitionMetadata = cluster.findTopicPartitionMetadata(topic);
        if (partitionMetadata.length === 0) {
          logger.debug("Producing to topic without metadata", { topic });
          throw new KafkaJSMetadataNotLoaded("Producing to topic without metadata");
        }
        const messagesPerPartition = groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner });
        const pending = Object.keys(messagesPerPartition).filter((p) => !acknowledged.has(`${topic}:${p}`));
        if (pending.length === 0) continue;
        for (const [leader, partitions] of Object.entries(cluster.findLeaderForPartitions(topic, pending))) {
          const topicData = perNode.get(Number(leader)) ?? [];
          topicData.push({
            topic,
            partitions: partitions.map((partition) => ({
              partition,
              messages: messagesPerPartition[partition] as unknown[],
            })),
          });
          perNode.set(Number(leader), topicData);
        }
      }
      // Every broker is looked up before anything is sent, one per node: a lookup that fails ends
      // the attempt with nothing sent.
      const sends = await Promise.all(
        [...perNode].map(async ([nodeId, topicData]) => ({
          broker: await cluster.findBroker({ nodeId: String(nodeId) }),
          topicData,
        })),
      );
      await Promise.all(sends.map(({ broker, topicData }) => sendToNode(broker, topicData)));
    };

    return retrier(async (bail, retryCount, retryTime) => {
      await cluster.addMultipleTargetTopics(topicMessages.map(({ topic }) => topic));
      try {
        await attempt();
        return responses;
      } catch (caught) {
        const e = caught as KafkaError;
        if (e.name === "KafkaJSConnectionClosedError") cluster.removeBroker({ host: e.host, port: e.port });
        if (!cluster.isConnected()) {
          logger.debug(`Cluster has disconnected, reconnecting: ${e.message}`, { retryCount, retryTime });
          await cluster.connect();
          await cluster.refreshMetadata();
          throw e;
        }
        // The metadata may be stale (a partition count grew, a leader moved).
        if (
          staleMetadata(e) ||
          e.name === "KafkaJSMetadataNotLoaded" ||
          e.name === "KafkaJSConnectionError" ||
          e.name === "KafkaJSConnectionClosedError" ||
          (e.name === "KafkaJSProtocolError" && e.retriable)
        ) {
          logger.error(`Failed to send messages: ${e.message}`, { retryCount, retryTime });
          await cluster.refreshMetadata();
          throw e;
        }
        logger.error(`${e.message}`, { retryCount, retryTime });
        if (e.retriable) throw e;
        bail(e);
        return [];
      }
    });
  };
}
