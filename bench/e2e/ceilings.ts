/**
 * The raw kafkajs ceilings of the end-to-end benchmark (issue #12): what kafkajs alone does on the
 * same broker, the same backlog and the same cores, with none of our code between consuming and
 * producing. The worker's rows are read as ratios of them. Each consumes the input topic with
 * `eachBatch`, every partition at once:
 * - consume: nothing else (offsets auto-committed, kafkajs's default);
 * - consume + JSON.parse: each value parsed;
 * - consume + idempotent produce + commit: each fetched batch forwarded as it is to the output
 *   topic by an idempotent producer (acks all), then its offset committed; at-least-once's shape;
 * - consume + transactions: each fetched partition batch forwarded in a transaction of its own
 *   that also carries the consumer's offset (sendOffsets), one transactional producer per input
 *   partition; exactly-once's shape.
 */
import type { Consumer, EachBatchPayload, Producer } from "kafkajs";
import { Kafka, logLevel } from "../../src/kafka/kafkajs.js";
import type { BenchMode, ModeContext, RunningMode } from "./modes.js";

type Handler = (payload: EachBatchPayload, context: ModeContext, consumer: Consumer) => Promise<void>;

interface Shape {
  name: string;
  output: boolean;
  /** Commits offsets itself (kafkajs's auto-commit off). */
  commits: boolean;
  setUp?(kafka: Kafka, context: ModeContext): Promise<{ handle: Handler; close(): Promise<void> }>;
  handle?: Handler;
}

type Forwarded = { key: Buffer | null; value: Buffer | null; timestamp: string };

/**
 * A fetched batch forwarded as it is, in requests the broker accepts: a partition's fetch can hold
 * more than one produce request may (message.max.bytes, about 1 MB); the worker's sinks split the same way.
 */
function forwarded(payload: EachBatchPayload, maxBytes = 512 * 1024): Forwarded[][] {
  const requests: Forwarded[][] = [[]];
  let bytes = 0;
  for (const m of payload.batch.messages) {
    // Key, value and a record's overhead (headers, varints, timestamp delta): an estimate on the safe side.
    const size = (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64;
    if (bytes + size > maxBytes && (requests.at(-1)?.length ?? 0) > 0) {
      requests.push([]);
      bytes = 0;
    }
    requests.at(-1)?.push({ key: m.key, value: m.value, timestamp: m.timestamp });
    bytes += size;
  }
  return requests;
}
const nextOffset = (payload: EachBatchPayload) => String(BigInt(payload.batch.lastOffset()) + 1n);

const SHAPES: Shape[] = [
  { name: "kafkajs: consume", output: false, commits: false, handle: async () => {} },
  {
    name: "kafkajs: consume + JSON.parse",
    output: false,
    commits: false,
    handle: async ({ batch }) => {
      for (const m of batch.messages) JSON.parse(String(m.value));
    },
  },
  {
    name: "kafkajs: consume + idempotent produce (acks all) + commit",
    output: true,
    commits: true,
    async setUp(kafka) {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      return {
        handle: async (payload, context, consumer) => {
          for (const messages of forwarded(payload))
            await producer.send({ topic: context.topics.output, messages, acks: -1 });
          const { topic, partition } = payload.batch;
          await consumer.commitOffsets([{ topic, partition, offset: nextOffset(payload) }]);
        },
        close: () => producer.disconnect(),
      };
    },
  },
  {
    name: "kafkajs: consume + transaction per partition batch (sendOffsets)",
    output: true,
    commits: true,
    async setUp(kafka, context) {
      const producers = new Map<number, Promise<Producer>>();
      const producerFor = (partition: number) => {
        let p = producers.get(partition);
        if (!p) {
          const producer = kafka.producer({
            transactionalId: `sw-e2e-ceiling-${context.runId}-${partition}`,
            idempotent: true,
            maxInFlightRequests: 1,
            allowAutoTopicCreation: false,
          });
          p = producer.connect().then(() => producer);
          producers.set(partition, p);
        }
        return p;
      };
      return {
        handle: async (payload, ctx) => {
          const { topic, partition } = payload.batch;
          const transaction = await (await producerFor(partition)).transaction();
          try {
            for (const messages of forwarded(payload)) await transaction.send({ topic: ctx.topics.output, messages });
            await transaction.sendOffsets({
              consumerGroupId: groupOf(ctx),
              topics: [{ topic, partitions: [{ partition, offset: nextOffset(payload) }] }],
            });
            await transaction.commit();
          } catch (error) {
            await transaction.abort().catch(() => {});
            throw error;
          }
        },
        close: async () => {
          for (const p of producers.values()) await (await p).disconnect();
        },
      };
    },
  },
];

const groupOf = (context: ModeContext) => `sw-e2e-ceiling-${context.runId}`;

function ceiling(shape: Shape, partitions: () => number): BenchMode {
  return {
    name: shape.name,
    live: false,
    backlogFirst: false,
    output: shape.output,
    async start(context): Promise<RunningMode> {
      const kafka = new Kafka({
        brokers: [...context.brokers],
        clientId: "sw-e2e-ceiling",
        logLevel: logLevel.NOTHING,
      });
      const set = shape.setUp ? await shape.setUp(kafka, context) : undefined;
      const handle = set?.handle ?? shape.handle ?? (async () => {});
      const consumer = kafka.consumer({ groupId: groupOf(context), readUncommitted: false });
      let count = 0;
      const waiting: Array<{ count: number; resolve: (at: number) => void }> = [];
      let joined: () => void = () => {};
      const inGroup = new Promise<void>((resolve) => {
        joined = resolve;
      });
      consumer.on(consumer.events.GROUP_JOIN, () => joined());
      // A failing handler would otherwise only show as a run that never ends.
      consumer.on(consumer.events.CRASH, ({ payload }) =>
        process.stderr.write(`bench: ${shape.name} crashed: ${payload.error.message}\n`),
      );
      await consumer.connect();
      await consumer.subscribe({ topic: context.topics.input, fromBeginning: true });
      await consumer.run({
        autoCommit: !shape.commits,
        eachBatchAutoResolve: !shape.commits,
        partitionsConsumedConcurrently: partitions(),
        eachBatch: async (payload) => {
          await handle(payload, context, consumer);
          // Without auto-resolve, kafkajs fetches an unresolved batch again.
          if (shape.commits) payload.resolveOffset(payload.batch.lastOffset());
          count += payload.batch.messages.length;
          const now = Date.now();
          for (let i = waiting.length - 1; i >= 0; i--) {
            const w = waiting[i];
            if (w && count >= w.count) {
              w.resolve(now);
              waiting.splice(i, 1);
            }
          }
        },
      });
      await inGroup;
      return {
        consumed: (n) =>
          count >= n ? Promise.resolve(Date.now()) : new Promise((resolve) => waiting.push({ count: n, resolve })),
        stop: async () => {
          await consumer.disconnect();
          await set?.close();
        },
      };
    },
  };
}

/** By the name used in `--ceilings`; `partitions` is the input topic's partition count. */
export function ceilingModes(partitions: number): Readonly<Record<string, BenchMode>> {
  const [consume, parse, produce, transactions] = SHAPES.map((s) => ceiling(s, () => partitions)) as BenchMode[];
  return { consume, parse, produce, transactions } as Record<string, BenchMode>;
}
