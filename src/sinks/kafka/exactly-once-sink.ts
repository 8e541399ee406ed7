/**
 * Exactly-once: per input partition, one transaction holds the partition's events, its dead
 * letters and the consumer offset (sendOffsets), so read_committed readers see each output once
 * whatever crashes. The client's TxnOffsetCommit carries no group generation (kafkajs has no
 * KIP-447), so zombies are fenced the older way: one transactional id per input partition
 * (`<groupId>-<topic>-<partition>`); whoever initialises it last bumps the producer epoch, and
 * an earlier owner's next send or commit fails as fenced.
 */
import { CommitOutcomeUnknownError, FencedError, SentimentWorkerError } from "../../errors/errors.js";
import type { ProducerFactory, TransactionalProducer } from "../../kafka/client.js";
import { meansFenced } from "../../kafka/errors.js";
import type { PartitionOutput, PartitionSink } from "./partition-sink.js";
import { outputRequests } from "./request-chunks.js";

export interface ExactlyOnceSinkOptions {
  groupId: string;
  outputTopic: string;
  deadLetterTopic: string;
  transactionTimeoutMs: number;
  /** Most bytes of records in one produce request: under every output topic's `max.message.bytes`. */
  maxRequestBytes?: number;
  /** The partitions of the output and dead-letter topics (a sweep writes to each). */
  outputPartitions?: () => Promise<TopicPartitions[]>;
}

/** A topic and its partitions. */
export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

/** The record a sweep writes to each output partition; its transaction is aborted, so no read_committed reader sees it. */
const SWEEP_RECORD = { key: null, value: null, headers: { "sw-sweep": "1" } };

export class ExactlyOnceSink implements PartitionSink {
  /** Connecting or connected producers by transactional id (promises, so no id is connected twice). */
  private readonly producers = new Map<string, Promise<TransactionalProducer>>();

  constructor(
    private readonly kafka: Pick<ProducerFactory, "transactionalProducer">,
    private readonly options: ExactlyOnceSinkOptions,
  ) {}

  private transactionalId(topic: string, partition: number): string {
    return `${this.options.groupId}-${topic}-${partition}`;
  }

  private producer(topic: string, partition: number): Promise<TransactionalProducer> {
    const id = this.transactionalId(topic, partition);
    let producer = this.producers.get(id);
    if (!producer) {
      producer = this.kafka.transactionalProducer({
        transactionalId: id,
        transactionTimeoutMs: this.options.transactionTimeoutMs,
      });
      // A failed connect is tried again by the next batch, not remembered.
      producer.catch(() => this.producers.delete(id));
      this.producers.set(id, producer);
    }
    return producer;
  }

  async acquire(topic: string, partition: number): Promise<void> {
    // Beginning a transaction on a new producer initialises the transactional id (InitProducerId):
    // the broker completes or aborts the previous owner's open transaction and bumps the epoch,
    // which fences that owner. A producer initialises its id only once, so a partition this
    // worker held before (and may have lost in between) gets a new producer: every acquisition
    // fences. Nothing was added, so the abort sends nothing.
    await this.release(topic, partition);
    const transaction = await (await this.producer(topic, partition)).transaction();
    await transaction.abort();
  }

  async commit(output: PartitionOutput): Promise<void> {
    const producer = await this.producer(output.topic, output.partition);
    const transaction = await producer.transaction();
    let ending = false;
    try {
      // Several requests when the outputs exceed what the broker takes in one; one transaction still.
      for (const { records } of outputRequests(output, this.options, this.options.maxRequestBytes)) {
        await transaction.send(records);
      }
      await transaction.sendOffsets(this.options.groupId, {
        topic: output.topic,
        partition: output.partition,
        offset: output.nextOffset,
        metadata: output.metadata,
      });
      ending = true;
      await transaction.commit();
    } catch (error) {
      const where = `${output.topic}[${output.partition}]`;
      // No abort from this producer: the next acquisition fences the transactional id with a new
      // producer, and the coordinator aborts what is left open under the bumped epoch. An abort
      // sent here would end the transaction under the old epoch, and a produce request of it still
      // on its way (retried, or held by a restarting broker) would then open a new transaction
      // under that epoch in its partition, which the next commit of this id would commit with it
      // (KIP-890's hanging transaction; kafkajs speaks the protocol version before its fix). Fenced,
      // the late request is refused. After a failed EndTxn the producer is stuck half-way anyway.
      await this.dropAfter(error, output.topic, output.partition);
      if (ending) {
        throw new CommitOutcomeUnknownError(`the commit of the transaction for ${where} got no answer`, error);
      }
      throw new SentimentWorkerError(`the transaction for ${where} failed; fencing the partition again aborts it`, {
        cause: error,
        retriable: true,
      });
    }
  }

  /**
   * A broker that restarts can complete a prepared commit without writing its markers (Kafka 4.4 on
   * a single node did, after a SIGKILL): its records stay open in the output partitions, its offset
   * stays pending, and the next transaction of the same id closes them with its own marker —
   * committing them a second time along with the records read again from the old offset. This
   * aborts them first: one record in a transaction in every output and dead-letter partition (a
   * superset of where the open records are), the offset, and an abort, whose markers under the
   * current epoch end everything the id left open there. Call after `acquire`.
   */
  async sweep(topic: string, partition: number, offset: string): Promise<void> {
    const targets = (await this.options.outputPartitions?.()) ?? [];
    const transaction = await (await this.producer(topic, partition)).transaction();
    try {
      if (targets.length > 0) {
        await transaction.send(
          targets.map((t) => ({
            topic: t.topic,
            messages: t.partitions.map((p) => ({ ...SWEEP_RECORD, partition: p })),
          })),
        );
      }
      await transaction.sendOffsets(this.options.groupId, { topic, partition, offset });
      await transaction.abort();
    } catch (error) {
      await this.dropAfter(error, topic, partition);
      throw new SentimentWorkerError(`the sweep of ${topic}[${partition}]'s open transaction failed`, {
        cause: error,
        retriable: true,
      });
    }
  }

  /** A transaction of the partition failed: its producer is dropped, and a fenced one says so as FencedError. */
  private async dropAfter(error: unknown, topic: string, partition: number): Promise<void> {
    await this.release(topic, partition);
    if (meansFenced(error)) {
      throw new FencedError(`partition ${topic}[${partition}] belongs to another worker now`, { cause: error });
    }
  }

  async release(topic: string, partition: number): Promise<void> {
    const id = this.transactionalId(topic, partition);
    const producer = this.producers.get(id);
    this.producers.delete(id);
    await (await producer?.catch(() => undefined))?.disconnect().catch(() => {});
  }

  async close(): Promise<void> {
    const producers = [...this.producers.values()];
    this.producers.clear();
    await Promise.all(producers.map(async (p) => (await p.catch(() => undefined))?.disconnect().catch(() => {})));
  }
}
