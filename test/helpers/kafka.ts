/** Kafka helpers for integration tests: topics, producing, and reading a topic to its end. */
import { setTimeout as sleep } from "node:timers/promises";
import type { Admin, IHeaders, Message } from "kafkajs";
import type { KafkaClient } from "../../src/kafka/client.js";
import { Kafka, logLevel } from "../../src/kafka/kafkajs.js";
import { kafkaClient } from "../../src/kafka/kafkajs-client.js";
import { createTopics } from "../../src/kafka/topics.js";
import { uniqueName } from "./names.js";

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: IHeaders;
}

export class KafkaTestClient {
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** The same connection behind the worker's own client contract (for sinks and sources under test). */
  readonly client: KafkaClient;

  constructor(brokers: string[]) {
    this.kafka = new Kafka({ brokers, clientId: "sw-test", logLevel: logLevel.NOTHING });
    this.admin = this.kafka.admin();
    this.client = kafkaClient(this.kafka, this.admin);
  }

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }

  async createTopic(prefix: string, numPartitions = 1): Promise<string> {
    const topic = uniqueName(prefix);
    await createTopics(this.admin, [{ topic, numPartitions }]);
    return topic;
  }

  async produce(topic: string, messages: Message[]): Promise<void> {
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += 500)
        await producer.send({ topic, messages: messages.slice(i, i + 500) });
    } finally {
      await producer.disconnect();
    }
  }

  /**
   * Every record of `topic` from the start, as a read_committed reader sees it, once `count`
   * arrived and nothing more came for `quietMs` (or the deadline passed). Each offset counts once:
   * the reader's own group may rebalance under load and hand a record over again, which is the
   * reader's doing, not a double on the topic.
   */
  async readAll(
    topic: string,
    options: { count: number; quietMs?: number; timeoutMs?: number },
  ): Promise<ReadRecord[]> {
    const consumer = this.kafka.consumer({ groupId: uniqueName("reader"), readUncommitted: false });
    const records: ReadRecord[] = [];
    const seen = new Set<string>();
    const quietMs = options.quietMs ?? 1500;
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    let last = Date.now();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        last = Date.now();
        if (seen.has(`${partition}:${message.offset}`)) return;
        seen.add(`${partition}:${message.offset}`);
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value,
          headers: message.headers ?? {},
        });
      },
    });
    while (Date.now() < deadline && !(records.length >= options.count && Date.now() - last >= quietMs)) {
      await sleep(100);
    }
    await consumer.disconnect();
    return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  }

  /**
   * Waits until the group committed offsets reaching each partition's end. An error counts as "not
   * yet" (a broker just restarted answers NOT_LEADER and the like for a while); at the deadline the
   * error names the partitions still behind, or the last error.
   */
  async waitForGroupAtEnd(groupId: string, topic: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const ends = await this.admin.fetchTopicOffsets(topic);
        const [committed] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
        const behind = ends
          .map((e) => ({
            partition: e.partition,
            committed: committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? "-1",
            end: e.high,
          }))
          // An empty partition has nothing to commit.
          .filter((p) => p.committed !== p.end && !(p.end === "0" && p.committed === "-1"));
        if (behind.length === 0) return;
        last = `partitions behind: ${JSON.stringify(behind)}`;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) throw new Error(`group ${groupId} did not reach the end of ${topic}: ${String(last)}`);
      await sleep(250);
    }
  }
}
