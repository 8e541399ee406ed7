/**
 * At-least-once: an idempotent producer writes the partition's events and dead letters; the input
 * offset is committed only after the broker acknowledged them (acks from all in-sync replicas),
 * so a crash can repeat outputs but never lose one.
 *
 * A producer whose send failed is never used again. kafkajs winds its sequence numbers back after
 * a failed send, but the broker may have written the batch before the answer was lost (a broker
 * SIGKILLed mid-request): the producer's next batch to that partition then reuses sequence numbers
 * the broker already holds. With another record count the broker refuses every later send as
 * OUT_OF_ORDER_SEQUENCE_NUMBER (the consumer restarted until it gave up); with the same count it
 * takes the new batch for a retry of the old one and drops it while answering success: a loss.
 * A new producer has a new producer id, whose sequence starts afresh.
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
    if (this.producer) return this.producer;
    const producer = this.kafka.producer();
    this.producer = producer;
    // A failed connect is tried again by the next batch, not remembered.
    producer.catch(() => this.discard(producer));
    return producer;
  }

  async acquire(): Promise<void> {}

  async commit(output: PartitionOutput): Promise<void> {
    // Several requests when the outputs exceed what the broker takes in one, in order; the offset after all.
    for (const request of outputRequests(output, this.options, this.options.maxRequestBytes)) {
      const producer = this.connected();
      try {
        await (await producer).send(request);
      } catch (error) {
        this.discard(producer);
        throw error;
      }
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

  async sweep(): Promise<void> {}

  async release(): Promise<void> {}

  /**
   * Drops a producer whose connect or send failed (see above); partitions sending through it
   * meanwhile fail too and are read again.
   */
  private discard(producer: Promise<RecordProducer>): void {
    if (this.producer === producer) this.producer = undefined;
    void producer.then((p) => p.disconnect()).catch(() => {});
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await (await producer)?.disconnect();
  }
}
