/**
 * At-least-once: an idempotent producer writes the partition's events and dead letters; the input
 * offset is committed only after the broker acknowledged them (acks from all in-sync replicas),
 * so a crash can repeat outputs but never lose one.
 */
import { OffsetCommitError } from "../../errors/errors.js";
import type { ProducerFactory, RecordProducer } from "../../kafka/client.js";
import type { PartitionOutput, PartitionSink } from "./partition-sink.js";
import { outputRequests } from "./request-chunks.js";

export interface AtLeastOnceSinkOptions {
  outputTopic: string;
  deadLetterTopic: string;
  /** Most bytes of records in one produce request: under every output topic's `max.message.bytes`. */
  maxRequestBytes?: number;
}

export class AtLeastOnceSink implements PartitionSink {
  /** The connecting or connected producer; a promise, so concurrent partitions share one. */
  private producer: Promise<RecordProducer> | undefined;

  constructor(
    private readonly kafka: Pick<ProducerFactory, "producer">,
    private readonly options: AtLeastOnceSinkOptions,
  ) {}

  private connected(): Promise<RecordProducer> {
    this.producer ??= this.kafka.producer();
    // A failed connect is tried again by the next batch, not remembered.
    this.producer.catch(() => {
      this.producer = undefined;
    });
    return this.producer;
  }

  async acquire(): Promise<void> {}

  async commit(output: PartitionOutput): Promise<void> {
    // Several requests when the outputs exceed what the broker takes in one, in order; the offset after all.
    for (const request of outputRequests(output, this.options, this.options.maxRequestBytes)) {
      await (await this.connected()).send(request);
    }
    try {
      await output.commitOffset(output.nextOffset, output.metadata);
    } catch (error) {
      throw new OffsetCommitError(
        `the outputs of ${output.topic}[${output.partition}] are written but its offset ${output.nextOffset} was not committed`,
        error,
      );
    }
  }

  async release(): Promise<void> {}

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await (await producer)?.disconnect();
  }
}
