/**
 * At-least-once: an idempotent producer writes the partition's events and dead letters; the input
 * offset is committed only after the broker acknowledged them (acks from all in-sync replicas),
 * so a crash can repeat outputs but never lose one.
 */
import type { Kafka, Producer, TopicMessages } from "kafkajs";
import type { PartitionOutput, PartitionSink } from "./partition-sink.js";
import { requestChunks } from "./request-chunks.js";

export interface AtLeastOnceSinkOptions {
  outputTopic: string;
  deadLetterTopic: string;
  /** Commits the consumer offset; the pipeline passes the source's, so the sink knows no source. */
  commitOffset: (topic: string, partition: number, nextOffset: string, metadata?: string) => Promise<void>;
}

export class AtLeastOnceSink implements PartitionSink {
  /** The connecting or connected producer; a promise, so concurrent partitions share one. */
  private producer: Promise<Producer> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: AtLeastOnceSinkOptions,
  ) {}

  private connected(): Promise<Producer> {
    this.producer ??= (async () => {
      // One in flight: the idempotent producer could reorder on retry otherwise (kjs#598).
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      return producer;
    })();
    // A failed connect is tried again by the next batch, not remembered.
    this.producer.catch(() => {
      this.producer = undefined;
    });
    return this.producer;
  }

  async acquire(): Promise<void> {}

  async commit(output: PartitionOutput): Promise<void> {
    const topicMessages: TopicMessages[] = [];
    if (output.events.length) topicMessages.push({ topic: this.options.outputTopic, messages: output.events });
    if (output.deadLetters.length)
      topicMessages.push({ topic: this.options.deadLetterTopic, messages: output.deadLetters });
    // Several requests when the outputs exceed what the broker takes in one, in order; the offset after all.
    for (const request of requestChunks(topicMessages)) {
      await (await this.connected()).sendBatch({ topicMessages: request, acks: -1 });
    }
    await this.options.commitOffset(output.topic, output.partition, output.nextOffset, output.metadata);
  }

  async release(): Promise<void> {}

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await (await producer)?.disconnect();
  }
}
