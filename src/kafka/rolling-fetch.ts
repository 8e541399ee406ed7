/**
 * kafkajs 2.2.4's fetch loop (`consumer/fetchManager.js` with `consumer/fetcher.js`, and the fetch
 * of `consumer/runner.js` and `consumer/consumerGroup.js`) with one change: a partition is fetched
 * again as soon as its own batch is done, not once every batch of the fetch is.
 *
 * kafkajs's fetcher fetches every partition a broker leads, hands the batches to the
 * `partitionsConsumedConcurrently` workers and waits for all of them before it fetches again. The
 * partitions that finish first wait for the slowest and then for the next round trip, so at the
 * end of every fetch the batcher is fed by fewer and fewer partitions and a fast device runs
 * half-empty batches (docs/benchmarks.md: a 20 ms device stayed below 0.9 of its capacity with
 * everything else off the main thread). Ours keeps the batches of a fetch in flight and, whenever
 * one of them is done, fetches the partitions that have none in flight: those with a batch in
 * flight are left out of the request, their pending seeks too (a seek applied under a running
 * batch would make it not stale; it is applied by the fetch after the batch). Such a fetch, made
 * while other batches are in flight, does not wait on the broker for data (max wait 0): a fetch
 * that waits would hold back the partitions that finish meanwhile. With nothing in flight the
 * fetch waits as kafkajs's does. A stop, a failed batch or a fetch error still waits for every
 * batch in flight before the fetcher ends, as kafkajs's round did. The batches run on
 * `partitionsConsumedConcurrently` workers of ours, each as it comes.
 *
 * The three pieces keep kafkajs's inputs and `this`, so they replace its module (the fetch
 * manager, which the runner requires) and the two methods on their classes' prototypes (see
 * kafkajs.ts); `test/unit/rolling-fetch.test.ts` shows kafkajs's own waiting for the round.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

interface Logger {
  namespace(name: string): Logger;
  debug(message: string, extra?: object): void;
  info(message: string, extra?: object): void;
}
interface TopicPartition {
  topic: string;
  partition: number;
}
interface TopicPartitions {
  topic: string;
  partitions: number[];
}
/** What the fetch reads of kafkajs's Batch. */
interface FetchedBatch {
  isEmpty(): boolean;
  isEmptyDueToFiltering(): boolean;
}
/** Whether a partition has a batch in flight. */
type InFlight = (topic: string, partition: number) => boolean;

interface WorkerQueue<B> {
  /** Runs `batch` once fewer than `concurrency` run; settles as the handler does. */
  push(batch: B): Promise<void>;
}
const { KafkaJSFetcherRebalanceError, KafkaJSNoBrokerAvailableError } = require("kafkajs/src/errors.js") as {
  KafkaJSFetcherRebalanceError: new () => Error;
  KafkaJSNoBrokerAvailableError: new () => Error;
};
const sleep = require("kafkajs/src/utils/sleep.js") as (ms: number) => Promise<void>;
type BatchClass = new (
  topic: string,
  fetchedOffset: string,
  partitionData: { partition: number; preferredReadReplica?: number },
) => FetchedBatch;
/** Required at the first fetch: loading kafkajs's batch module here would come before kafkajs.ts replaced its filter. */
let Batch: BatchClass | undefined;
const {
  events: { FETCH, FETCH_START },
} = require("kafkajs/src/consumer/instrumentationEvents.js") as { events: { FETCH: string; FETCH_START: string } };

const key = ({ topic, partition }: TopicPartition) => `${topic}|${partition}`;

// ---- the fetch manager (consumer/fetchManager.js) -----------------------------------------------

export interface FetchManagerOptions<B extends TopicPartition> {
  logger: Logger;
  getNodeIds(): number[];
  fetch(nodeId: number): Promise<B[]>;
  handler(batch: B): Promise<void>;
  concurrency?: number;
}

/** kafkajs's fetch manager, its fetchers rolling (see the header), and the partitions in flight for the runner's fetch. */
export function createFetchManager<B extends TopicPartition>({
  logger: rootLogger,
  getNodeIds,
  fetch,
  handler,
  concurrency = 1,
}: FetchManagerOptions<B>) {
  const logger = rootLogger.namespace("FetchManager");
  const workerQueue = createWorkerQueue(handler, concurrency);
  /** topic|partition → the node whose fetcher has its batch in flight. */
  let partitionAssignments = new Map<string, number>();
  let fetchers: ReturnType<typeof createFetcher<B>>[] = [];

  const createFetchers = () => {
    const nodeIds = getNodeIds();
    partitionAssignments = new Map();
    if (nodeIds.length === 0) throw new KafkaJSNoBrokerAvailableError();
    const validateShouldRebalance = () => {
      const current = getNodeIds();
      const hasChanged = nodeIds.length !== current.length || nodeIds.some((nodeId) => !current.includes(nodeId));
      if (hasChanged && current.length !== 0) throw new KafkaJSFetcherRebalanceError();
    };
    const assignments = partitionAssignments;
    const created = nodeIds.map((nodeId) =>
      createFetcher<B>({
        nodeId,
        workerQueue,
        partitionAssignments: assignments,
        fetch: async (id) => {
          validateShouldRebalance();
          return fetch(id);
        },
        logger,
      }),
    );
    logger.debug(`Created ${created.length} fetchers`, { nodeIds, concurrency });
    return created;
  };

  const stop = async () => {
    logger.debug("Stopping fetchers...");
    await Promise.all(fetchers.map((fetcher) => fetcher.stop()));
    logger.debug("Stopped fetchers");
  };

  const start = async () => {
    logger.debug("Starting...");
    while (true) {
      fetchers = createFetchers();
      try {
        await Promise.all(fetchers.map((fetcher) => fetcher.start()));
      } catch (error) {
        await stop();
        if (error instanceof KafkaJSFetcherRebalanceError) {
          logger.debug("Rebalancing fetchers...");
          continue;
        }
        throw error;
      }
      break;
    }
  };

  /** For the runner's fetch: the partitions to leave out of a request. */
  const inFlight: InFlight = (topic, partition) => partitionAssignments.has(key({ topic, partition }));

  return { start, stop, getFetchers: () => fetchers, inFlight };
}

// ---- the workers (consumer/workerQueue.js and worker.js) ---------------------------------------

/**
 * In place of kafkajs's workers, a promise a batch: kafkajs's queue settles a push once all of its
 * batches are done, and its workers, handed one batch at a time within one tick, ran them one after
 * another (a worker that has just found the queue empty ignores a push in the same tick).
 */
function createWorkerQueue<B>(handler: (batch: B) => Promise<void>, concurrency: number): WorkerQueue<B> {
  const queue: { batch: B; resolve(): void; reject(error: unknown): void }[] = [];
  let running = 0;
  const next = () => {
    while (running < concurrency && queue.length > 0) {
      const { batch, resolve, reject } = queue.shift() as (typeof queue)[number];
      running++;
      handler(batch)
        .then(resolve, reject)
        .finally(() => {
          running--;
          next();
        });
    }
  };
  return {
    push: (batch) =>
      new Promise<void>((resolve, reject) => {
        queue.push({ batch, resolve, reject });
        next();
      }),
  };
}

// ---- a broker's fetcher (consumer/fetcher.js) ---------------------------------------------------

function createFetcher<B extends TopicPartition>({
  nodeId,
  workerQueue,
  partitionAssignments,
  fetch,
  logger: rootLogger,
}: {
  nodeId: number;
  workerQueue: WorkerQueue<B>;
  partitionAssignments: Map<string, number>;
  fetch(nodeId: number): Promise<B[]>;
  logger: Logger;
}) {
  const logger = rootLogger.namespace(`Fetcher ${nodeId}`);
  let isRunning = false;
  /** Settles once the loop ended and every batch it handed out did (kafkajs's "end" event). */
  let ended: Promise<void> | undefined;
  /** Wakes the loop waiting for a batch to finish (or for the stop). */
  let wake = () => {};
  let woken = false;
  const signal = () => {
    woken = true;
    wake();
  };
  const woke = async () => {
    if (!woken) await new Promise<void>((resolve) => (wake = resolve));
    woken = false;
    wake = () => {};
  };

  /** kafkajs's filter, and also this fetcher's own partitions in flight (its request leaves them out). */
  const unassigned = (batches: B[]) =>
    batches.filter((batch) => {
      const assignedFetcher = partitionAssignments.get(key(batch));
      if (assignedFetcher === undefined) return true;
      if (assignedFetcher !== nodeId) {
        logger.info("Filtering out batch due to partition already being processed by another fetcher", {
          topic: batch.topic,
          partition: batch.partition,
          assignedFetcher,
          fetcher: nodeId,
        });
      }
      return false;
    });

  const start = async () => {
    if (isRunning) return;
    isRunning = true;
    const run = loop();
    ended = run.then(
      () => {},
      () => {},
    );
    await run;
  };

  const loop = async () => {
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    try {
      while (isRunning && failure === undefined) {
        const batches = await fetch(nodeId);
        // Stopped, or a batch failed meanwhile: no new batch starts (the fetch's records are read again).
        if (!isRunning || failure !== undefined) break;
        for (const batch of unassigned(batches)) {
          partitionAssignments.set(key(batch), nodeId);
          const done: Promise<void> = workerQueue
            .push(batch)
            .catch((error: unknown) => {
              failure ??= { error };
            })
            .finally(() => {
              partitionAssignments.delete(key(batch));
              inFlight.delete(done);
              signal();
            });
          inFlight.add(done);
        }
        // With batches in flight, the next fetch is for a partition that finished: wait for one.
        if (inFlight.size > 0) await woke();
      }
    } catch (error) {
      failure ??= { error };
    }
    isRunning = false;
    // As kafkajs's round: the fetcher ends once every batch it handed out has.
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.error;
  };

  const stop = async () => {
    isRunning = false;
    signal();
    // Also when the loop already stopped on its own but still waits for its batches.
    await ended;
  };

  return { start, stop, getWorkerQueue: () => workerQueue };
}

// ---- the runner's fetch (Runner#fetch, consumer/runner.js) -------------------------------------

/** What Runner#fetch reads of kafkajs's Runner. */
export interface FetchingRunner {
  running: boolean;
  logger: Logger;
  consumerGroup: {
    groupId: string;
    memberId: string | null;
    fetch(nodeId: number, inFlight?: InFlight): Promise<FetchedBatch[]>;
  };
  instrumentationEmitter: { emit(event: string, payload: object): void };
  fetchManager: { inFlight?: InFlight };
  heartbeat(): Promise<void>;
}

/** kafkajs's Runner#fetch, telling the consumer group's fetch which partitions have a batch in flight. */
export async function runnerFetch(this: FetchingRunner, nodeId: number): Promise<FetchedBatch[]> {
  if (!this.running) {
    this.logger.debug("consumer not running, exiting", {
      groupId: this.consumerGroup.groupId,
      memberId: this.consumerGroup.memberId,
    });
    return [];
  }
  const startFetch = Date.now();
  this.instrumentationEmitter.emit(FETCH_START, { nodeId });
  const fetched = await this.consumerGroup.fetch(nodeId, this.fetchManager.inFlight);
  this.instrumentationEmitter.emit(FETCH, { numberOfBatches: 0, duration: Date.now() - startFetch, nodeId });
  // A partition with nothing new: kafkajs's handler only heartbeats for it, and handing it out
  // would count as a batch done, which fetches again at once (ours does not wait on the broker
  // while others are in flight). Records filtered out (control records) still go: their offsets
  // are resolved there.
  const batches = fetched.filter((batch) => !batch.isEmpty() || batch.isEmptyDueToFiltering());
  if (batches.length === 0) await this.heartbeat();
  return batches;
}

// ---- the consumer group's fetch (ConsumerGroup#fetch, consumer/consumerGroup.js) ---------------

interface PartitionData {
  partition: number;
  preferredReadReplica?: number;
}

/** What ConsumerGroup#fetch reads and writes of kafkajs's ConsumerGroup. */
export interface FetchingConsumerGroup {
  groupId: string;
  memberId: string | null;
  logger: Logger;
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  maxBytesPerPartition: number;
  isolationLevel: number;
  rackId: string;
  metadataMaxAge: number;
  preferredReadReplicasPerTopicPartition: Record<string, Record<number, { nodeId: number; expireAt: number }>>;
  cluster: {
    refreshMetadataIfNecessary(): Promise<void>;
    findBroker(options: { nodeId: number }): Promise<{
      fetch(request: object): Promise<{ responses: Array<{ topicName: string; partitions: PartitionData[] }> }>;
    }>;
  };
  subscriptionState: { assigned(): TopicPartitions[]; isPaused(topic: string, partition: number): boolean };
  offsetManager: {
    committedOffsets(): Record<string, Record<number, string | null>>;
    nextOffset(topic: string, partition: number): { toString(): string };
  };
  seekOffset: { has(topic: string, partition: number): boolean };
  checkForStaleAssignment(): void;
  filterPartitionsByNode(nodeId: number, topicPartitions: TopicPartitions[]): TopicPartitions[];
  seekOffsets(topicPartitions: TopicPartitions[]): Promise<void>;
  getActiveTopicPartitions(): Record<string, Set<number>>;
  recoverFromFetch(error: unknown): Promise<void>;
}

/**
 * kafkajs's ConsumerGroup#fetch, leaving out the partitions with a batch in flight (and their
 * seeks); with any in flight it does not wait on the broker, nor sleep when nothing is left to fetch.
 */
export async function consumerGroupFetch(
  this: FetchingConsumerGroup,
  nodeId: number,
  inFlight?: InFlight,
): Promise<FetchedBatch[]> {
  try {
    await this.cluster.refreshMetadataIfNecessary();
    this.checkForStaleAssignment();

    let othersInFlight = false;
    const topicPartitions = this.filterPartitionsByNode(nodeId, this.subscriptionState.assigned()).map(
      ({ topic, partitions }) => ({
        topic,
        partitions: partitions.filter((partition) => {
          const busy = inFlight?.(topic, partition) === true;
          othersInFlight ||= busy;
          return !busy;
        }),
      }),
    );

    await this.seekOffsets(topicPartitions);

    const committedOffsets = this.offsetManager.committedOffsets();
    const activeTopicPartitions = this.getActiveTopicPartitions();

    const requests = topicPartitions
      .map(({ topic, partitions }) => ({
        topic,
        partitions: partitions
          // Only partitions with initialised offsets (kafkajs#578: recovering from OffsetOutOfRange).
          .filter(
            (partition) =>
              committedOffsets[topic]?.[partition] != null && activeTopicPartitions[topic]?.has(partition) === true,
          )
          .map((partition) => ({
            partition,
            fetchOffset: this.offsetManager.nextOffset(topic, partition).toString(),
            maxBytes: this.maxBytesPerPartition,
          })),
      }))
      .filter(({ partitions }) => partitions.length > 0);

    if (requests.length === 0) {
      if (!othersInFlight) await sleep(this.maxWaitTime);
      return [];
    }

    const broker = await this.cluster.findBroker({ nodeId });
    const { responses } = await broker.fetch({
      maxWaitTime: othersInFlight ? 0 : this.maxWaitTime,
      minBytes: this.minBytes,
      maxBytes: this.maxBytes,
      isolationLevel: this.isolationLevel,
      topics: requests,
      rackId: this.rackId,
    });

    return responses.flatMap(({ topicName, partitions }) => {
      const topicRequestData = requests.find(({ topic }) => topic === topicName);
      let preferredReadReplicas = this.preferredReadReplicasPerTopicPartition[topicName];
      if (!preferredReadReplicas) {
        preferredReadReplicas = {};
        this.preferredReadReplicasPerTopicPartition[topicName] = preferredReadReplicas;
      }
      const replicas = preferredReadReplicas;
      return partitions
        .filter(
          ({ partition }) =>
            !this.seekOffset.has(topicName, partition) && !this.subscriptionState.isPaused(topicName, partition),
        )
        .map((partitionData) => {
          const { partition, preferredReadReplica } = partitionData;
          if (preferredReadReplica != null && preferredReadReplica !== -1) {
            const current = replicas[partition]?.nodeId;
            if (current !== preferredReadReplica) {
              this.logger.info(`Preferred read replica is now ${preferredReadReplica}`, {
                groupId: this.groupId,
                memberId: this.memberId,
                topic: topicName,
                partition,
              });
            }
            replicas[partition] = { nodeId: preferredReadReplica, expireAt: Date.now() + this.metadataMaxAge };
          }
          const fetchedOffset = topicRequestData?.partitions.find((p) => p.partition === partition)?.fetchOffset;
          Batch ??= require("kafkajs/src/consumer/batch.js") as BatchClass;
          return new Batch(topicName, fetchedOffset as string, partitionData);
        });
    });
  } catch (error) {
    await this.recoverFromFetch(error);
    return [];
  }
}
