/**
 * The Kafka client as the rest of the worker sees it: a consumer group member, an idempotent and a
 * transactional producer, and the few admin calls start-up and replay need. Only `src/kafka` knows
 * the library behind it (kafkajs, see kafkajs-client.ts), so sources, sinks and the pipeline can be
 * tested with fakes, and another client could be measured behind the same contract.
 *
 * The record shapes are structural subsets of kafkajs's own, so nothing is copied on the way.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A header value per name, or several; what a record carries and what the worker writes. */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/** A record as read. */
export interface ConsumedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since the epoch as the broker sent it (any 64-bit value: kept as a string). */
  timestamp: string;
  headers?: RecordHeaders | undefined;
  /**
   * How many headers the record carried (kafkajs's record decoder as replaced counts them, see
   * record-decoder.ts); `headers` holds at most the first HEADERS_KEPT of them.
   */
  headerCount?: number | undefined;
}

/** A record to write; the partition comes from its key (murmur2, as the Java client). */
export interface ProducedRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeaders;
  /** The partition to write to; by default the partitioner's choice from the key. */
  partition?: number;
}

/** The records for one topic in a produce request. */
export interface TopicRecords {
  topic: string;
  messages: ProducedRecord[];
}

/** A consumer group's committed offset of a partition (the next record to read). */
export interface GroupOffset extends TopicPartition {
  /** "-1" when nothing was committed. */
  offset: string;
  metadata?: string | null | undefined;
}

/** One partition's fetch, handed to the member's batch handler. */
export interface FetchedBatch extends TopicPartition {
  records: ConsumedRecord[];
  /** The partition's end offset when fetched. */
  highWatermark: string;
  /** The fetch's last offset, counting transaction markers and aborted records that are never delivered. */
  lastOffset(): string;
  /** Keeps the member in the group; rejects when its generation is over (see `meansRejoin`). */
  heartbeat(): Promise<void>;
  /** A rebalance or a seek made this fetch obsolete. */
  isStale(): boolean;
  isRunning(): boolean;
  /** Moves the member's read position past `offset` (commits nothing). */
  resolveOffset(offset: string): void;
  /**
   * Commits the next offset to read in this batch's group generation, once (no retries). Unlike a
   * commit through the consumer it still works while the member is stopping.
   */
  commitOffset(nextOffset: string, metadata?: string): Promise<void>;
}

/** What a group member reports, besides fetched batches. */
export interface MemberHandlers {
  /** A new generation began with this assignment. */
  joined(assigned: TopicPartition[]): void;
  /** A rebalance began: the current generation's batches should end soon. */
  rebalancing(): void;
  stopped(): void;
  /** The member failed; `restarting`: the client rejoins by itself after a delay. */
  crashed(error: Error, restarting: boolean): void;
  /** A fetch held only transaction markers or aborted records: the read position moved past `lastOffset` unseen. */
  skipped(tp: TopicPartition, lastOffset: string): void;
  /** One partition's fetch; the next fetch of that partition waits for it. */
  batch(batch: FetchedBatch): Promise<void>;
}

export interface Subscription {
  topics: readonly string[];
  /** A regular expression; topics that match it are read too. */
  pattern?: string | undefined;
  /** Where a partition without a committed offset starts. */
  fromBeginning: boolean;
  /** Partitions whose batches run at once. */
  concurrency: number;
}

export interface GroupMemberOptions {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
}

/** A consumer group member that never commits on its own (read_committed, no auto-commit). */
export interface GroupMember {
  /** Connects, subscribes and starts fetching; resolves before the first join. */
  run(subscription: Subscription, handlers: MemberHandlers): Promise<void>;
  pause(topic: string, partitions: number[]): void;
  seek(tp: TopicPartition, offset: string): void;
  /** Commits several partitions in one request (all or none). */
  commitOffsets(offsets: GroupOffset[]): Promise<void>;
  /** Ends the batches (after they return) and leaves the group; a failure from then on is not restarted. */
  disconnect(): Promise<void>;
}

/** An idempotent producer: acknowledgements from all in-sync replicas, one request in flight. */
export interface RecordProducer {
  send(request: TopicRecords[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface Transaction {
  send(request: TopicRecords[]): Promise<void>;
  /** Adds a consumer group's offset to the transaction. */
  sendOffsets(groupId: string, offset: GroupOffset): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A producer of one transactional id. Its first transaction initialises the id, which fences any
 * earlier producer of it; after a failed commit it is not to be used again.
 */
export interface TransactionalProducer {
  transaction(): Promise<Transaction>;
  disconnect(): Promise<void>;
}

export interface TransactionalOptions {
  transactionalId: string;
  transactionTimeoutMs: number;
}

/** A topic the worker needs, and the setting that names it (for the error when it is missing). */
export interface TopicRequirement {
  topic: string;
  field: string;
  /** An input: the worker never creates it, whatever `kafka.createTopics` says. */
  input?: boolean;
}

export interface PartitionEnds {
  partition: number;
  /** The log start offset. */
  low: string;
  /** The last stable offset (what a read_committed reader reaches). */
  high: string;
}

export interface KafkaAdmin {
  listTopics(): Promise<string[]>;
  /** Missing topics stop start-up with a ConfigError naming their setting, or are created (`create`). */
  ensureTopics(required: readonly TopicRequirement[], create: boolean): Promise<void>;
  /** Each topic's `max.message.bytes` (Kafka's default where it cannot be read). */
  maxMessageBytes(topics: readonly string[]): Promise<Map<string, number>>;
  /** A group's committed offsets of every partition of a topic. */
  committedOffsets(groupId: string, topic: string): Promise<GroupOffset[]>;
  partitionEnds(topic: string): Promise<PartitionEnds[]>;
  /** Per partition, the first offset whose timestamp is at or after `ms` (the log's end when none). */
  offsetsAtTime(topic: string, ms: number): Promise<Array<{ partition: number; offset: string }>>;
  /** `not-empty`: the group has live members, and stays. */
  deleteGroup(groupId: string): Promise<"deleted" | "missing" | "not-empty">;
}

export interface KafkaClient {
  readonly admin: KafkaAdmin;
  member(options: GroupMemberOptions): GroupMember;
  /** A connected idempotent producer. */
  producer(): Promise<RecordProducer>;
  /** A connected producer of one transactional id. */
  transactionalProducer(options: TransactionalOptions): Promise<TransactionalProducer>;
  /** Disconnects the admin connection (members and producers are closed by their owners). */
  close(): Promise<void>;
}

/** What the sinks need of the client. */
export type ProducerFactory = Pick<KafkaClient, "producer" | "transactionalProducer">;
