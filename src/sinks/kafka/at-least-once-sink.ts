/**
 * At-least-once: an idempotent producer writes the partition's events and dead letters; the input
 * offset is committed only after the broker acknowledged them (acks from all in-sync replicas),
 * so a crash can repeat outputs but never lose one.
 *
 * The producer's sequence numbers decide two rules. kafkajs winds a partition's sequence back
 * when a produce request fails, so that its retry of the same records reuses the same numbers and
 * the broker drops the copy if it had written the first (a broker SIGKILLed mid-request writes and
 * never answers). Anything else sent through that producer meanwhile takes those numbers too:
 * - One send at a time. Partitions share the producer; another partition's send that slipped in
 *   between a failed request and its retry reused numbers the broker already held. With another
 *   record count the broker refused it as OUT_OF_ORDER_SEQUENCE_NUMBER, final to kafkajs, and the
 *   consumer gave up (broker-restart.test.ts in CI); with the same count the broker would take it
 *   for a retry and drop it while answering success: a loss.
 * - A producer whose send failed for good is never used again: its numbers may be behind the
 *   broker's. A new producer has a new producer id, whose sequence starts afresh; a send that
 *   waited behind the failed one goes out through it.
 * kafkajs sends one request at a time to each broker anyway; what waits while one is in flight
 * goes as one request (several partitions' records, up to the request bound), so the queue makes
 * fewer, larger produce requests rather than a slower sink.
 */
import { OffsetCommitError, SentimentWorkerError } from "../../errors/errors.js";
import type { ProducerFactory, RecordProducer, TopicRecords } from "../../kafka/client.js";
import { kafkaErrorType } from "../../kafka/errors.js";
import type { PartitionOutput, PartitionSink } from "./partition-sink.js";
import { MAX_REQUEST_BYTES, outputRequests, type SizedRequest } from "./request-chunks.js";

export interface AtLeastOnceSinkOptions {
  outputTopic: string;
  deadLetterTopic: string;
  /** Most bytes of records in one produce request: under every output topic's `max.message.bytes`. */
  maxRequestBytes?: number;
}

export class AtLeastOnceSink implements PartitionSink {
  /** The connecting or connected producer; a promise, so concurrent partitions share one. */
  private producer: Promise<RecordProducer> | undefined;
  /** Requests waiting for the one in flight, in the order they came. */
  private waiting: Waiting[] = [];
  private sending = false;

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
      await this.inTurn(request);
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

  private inTurn(request: SizedRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      if (!this.sending) void this.sendWaiting();
    });
  }

  /** One send at a time, each of whatever waits that fits in one request; its outcome is theirs. */
  private async sendWaiting(): Promise<void> {
    this.sending = true;
    try {
      for (let group = this.nextGroup(); group.length > 0; group = this.nextGroup()) {
        try {
          await this.send(merged(group.map((w) => w.request.records)));
          for (const w of group) w.resolve();
        } catch (error) {
          for (const w of group) w.reject(error);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** The first waiting request and those after it that fit with it under the request bound. */
  private nextGroup(): Waiting[] {
    const max = this.options.maxRequestBytes ?? MAX_REQUEST_BYTES;
    const group: Waiting[] = [];
    let bytes = 0;
    for (let next = this.waiting[0]; next !== undefined; next = this.waiting[0]) {
      if (group.length > 0 && bytes + next.request.bytes > max) break;
      group.push(next);
      bytes += next.request.bytes;
      this.waiting.shift();
    }
    return group;
  }

  private async send(request: TopicRecords[]): Promise<void> {
    const producer = this.connected();
    try {
      await (await producer).send(request);
    } catch (error) {
      this.discard(producer);
      throw producerStateLost(error);
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

interface Waiting {
  request: SizedRequest;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Requests as one, each topic's records in the order of the requests (so per-key order holds). */
function merged(requests: TopicRecords[][]): TopicRecords[] {
  if (requests.length === 1) return requests[0] as TopicRecords[];
  const byTopic = new Map<string, TopicRecords>();
  for (const request of requests) {
    for (const { topic, messages } of request) {
      const entry = byTopic.get(topic);
      if (entry) entry.messages.push(...messages);
      else byTopic.set(topic, { topic, messages: [...messages] });
    }
  }
  return [...byTopic.values()];
}

/** Answers about the producer's own sequence state, which a new producer does not share. */
const PRODUCER_STATE = new Set(["OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID", "INVALID_PRODUCER_ID_MAPPING"]);

/**
 * kafkajs calls these final, and a consumer gives up on a final error; with the producer dropped,
 * reading the records again and sending them through a new one is the cure, so it is retriable.
 */
function producerStateLost(error: unknown): unknown {
  const type = kafkaErrorType(error);
  if (type === undefined || !PRODUCER_STATE.has(type)) return error;
  return new SentimentWorkerError(`the broker refused the producer's sequence (${type}); a new producer sends again`, {
    cause: error,
    retriable: true,
  });
}
