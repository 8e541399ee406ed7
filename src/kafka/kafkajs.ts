/**
 * kafkajs, with the fixes this worker depends on applied before any of its consumer code loads.
 * Import kafkajs's values (Kafka, logLevel, ...) from here, never from "kafkajs" directly: the fix
 * reaches only code loaded after this module ran (types may come from "kafkajs" as usual).
 *
 * - Aborted transactions (aborted-filter.ts): kafkajs's read_committed filter lets records of
 *   aborted transactions through when transactions of several producers interleave; ours is put
 *   in its place in the module cache, which kafkajs's `consumer/batch.js` requires it from.
 * - Produce retries (send-messages.ts): kafkajs's retry of a send could send a node's partitions
 *   twice after a broker restart; ours is put in the place `producer/messageProducer.js` requires
 *   it from.
 * - Record headers (record-decoder.ts): kafkajs's record decoder takes time quadratic in a record's
 *   headers; ours is put in the place `protocol/recordBatch/v0/decoder.js` requires it from.
 * - Null header values and speed (record-encoder.ts): kafkajs's record encoder throws on a header
 *   whose value is null, which it reads from records, and costs microseconds per record on the
 *   main thread; ours is put in the place `protocol/requests/produce/v3/request.js` (every produce
 *   version from 3 on) requires it from.
 * - Record batches (record-batch-encoder.ts), produce requests (produce-request.ts) and the request
 *   frame (request-frame.ts): ours write a produce request into one buffer, records in place, with
 *   a native CRC-32C; kafkajs's copies every byte several times on the main thread. In the places
 *   the produce request, produce versions 4 to 7 and `network/connection.js` require them from.
 * - The fetch loop (rolling-fetch.ts): kafkajs fetches a broker's partitions again only once every
 *   batch of the last fetch is done, so partitions that finish early wait for the slowest and the
 *   device runs half-empty batches at the end of every fetch; ours fetches a partition again as
 *   soon as its own batch is done. Its fetch manager is put in the place `consumer/runner.js`
 *   requires it from; the runner's and the consumer group's fetch are replaced on their classes.
 * - The partitioner (partitioner.ts) is no module swap: kafkajs-client.ts hands it to every producer.
 * - The request queue's throttle check (request-queue-timer.ts) handed setTimeout a negative delay,
 *   which Node 23 and later print a warning about; ours replaces the method on kafkajs's class.
 *
 * These are replacements of kafkajs's internal files, written against one version: package.json
 * pins it, and a different one stops the worker here rather than run with fixes that may no longer
 * fit or apply (test/unit/kafka-fixes.test.ts proves each is in use and kafkajs's own still flawed).
 */
import { createRequire } from "node:module";
import type * as KafkaJS from "kafkajs";
import { SentimentWorkerError } from "../errors/errors.js";
import { filterAbortedMessages } from "./aborted-filter.js";
import { produceRequest } from "./produce-request.js";
import { MAGIC_BYTE, RecordBatch } from "./record-batch-encoder.js";
import { decodeRecord } from "./record-decoder.js";
import { encodeRecord } from "./record-encoder.js";
import { createRequest } from "./request-frame.js";
import { scheduleCheckPendingRequests } from "./request-queue-timer.js";
import { consumerGroupFetch, createFetchManager, runnerFetch } from "./rolling-fetch.js";
import { createSendMessages } from "./send-messages.js";

const require = createRequire(import.meta.url);

/** The kafkajs release the replacements were written for (package.json pins it). */
export const KAFKAJS_VERSION = "2.2.4";

/** kafkajs's internals that are replaced: the module, the kafkajs module that requires it, and ours. */
export const REPLACED_MODULES = [
  {
    module: "kafkajs/src/consumer/filterAbortedMessages.js",
    user: "kafkajs/src/consumer/batch.js",
    replacement: filterAbortedMessages,
  },
  {
    module: "kafkajs/src/producer/sendMessages.js",
    user: "kafkajs/src/producer/messageProducer.js",
    replacement: createSendMessages,
  },
  {
    module: "kafkajs/src/protocol/recordBatch/record/v0/decoder.js",
    user: "kafkajs/src/protocol/recordBatch/v0/decoder.js",
    replacement: decodeRecord,
  },
  {
    module: "kafkajs/src/protocol/recordBatch/record/v0/index.js",
    user: "kafkajs/src/protocol/requests/produce/v3/request.js",
    replacement: encodeRecord,
  },
  {
    module: "kafkajs/src/protocol/recordBatch/v0/index.js",
    user: "kafkajs/src/protocol/requests/produce/v3/request.js",
    replacement: { RecordBatch, MAGIC_BYTE },
  },
  // After the two above: putting it in place loads kafkajs's own, which requires them.
  {
    module: "kafkajs/src/protocol/requests/produce/v3/request.js",
    user: "kafkajs/src/protocol/requests/produce/v4/request.js",
    replacement: produceRequest,
  },
  {
    module: "kafkajs/src/consumer/fetchManager.js",
    user: "kafkajs/src/consumer/runner.js",
    replacement: createFetchManager,
  },
  {
    module: "kafkajs/src/protocol/request.js",
    user: "kafkajs/src/network/connection.js",
    replacement: createRequest,
  },
] as const;

/** Replaced other than in the module cache: by an option (kafkajs-client.ts), on a class's prototype (below). */
const REPLACED_ELSEWHERE = [
  "kafkajs/src/producer/partitioners/default (createPartitioner)",
  "kafkajs/src/network/requestQueue/index.js (RequestQueue#scheduleCheckPendingRequests)",
  "kafkajs/src/consumer/runner.js (Runner#fetch)",
  "kafkajs/src/consumer/consumerGroup.js (ConsumerGroup#fetch)",
];

/** Throws unless `installed` is the kafkajs release the replacements were written for. */
export function checkKafkajsVersion(installed: string): void {
  if (installed === KAFKAJS_VERSION) return;
  const replaced = [...REPLACED_MODULES.map((r) => r.module), ...REPLACED_ELSEWHERE].join(", ");
  throw new SentimentWorkerError(
    `kafkajs ${installed} is installed, but sentiment-worker replaces internals of kafkajs ${KAFKAJS_VERSION} (${replaced}) and needs exactly that version: install kafkajs ${KAFKAJS_VERSION} (package.json pins it), or check each replacement against the new release (test/unit/kafka-fixes.test.ts) before changing KAFKAJS_VERSION in src/kafka/kafkajs.ts`,
  );
}

checkKafkajsVersion((require("kafkajs/package.json") as { version: string }).version);

/** Puts `replacement` in the module cache as `module`, unless `user` (which requires it) already loaded. */
function replaceModule(module: string, user: string, replacement: unknown): boolean {
  const path = require.resolve(module);
  if (require.cache[require.resolve(user)] !== undefined) return false;
  require(path);
  (require.cache[path] as NodeJS.Module).exports = replacement;
  return true;
}

const fixed = REPLACED_MODULES.map(({ module, user, replacement }) => replaceModule(module, user, replacement));
if (fixed.includes(false)) {
  // Too late: something loaded kafkajs first (an embedding program), and it keeps kafkajs's own
  // modules. Said once; the worker runs, with the flaws these fixes are for.
  process.emitWarning(
    "kafkajs was loaded before sentiment-worker's src/kafka/kafkajs.js: its read_committed filter can let records of aborted transactions through, a produce retry after a broker restart can send records twice, and a record with thousands of headers can hold its partition for minutes, a header whose value is null cannot be written, records are encoded slowly, and each fetch waits for the slowest partition's batch; import sentiment-worker first",
  );
}

// On the prototype, so it holds for every connection's queue, even one made before this module ran.
(
  require("kafkajs/src/network/requestQueue/index.js") as {
    prototype: { scheduleCheckPendingRequests: typeof scheduleCheckPendingRequests };
  }
).prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;

// The runner's fetch tells the consumer group's which partitions have a batch in flight (rolling-fetch.ts).
(require("kafkajs/src/consumer/runner.js") as { prototype: { fetch: typeof runnerFetch } }).prototype.fetch =
  runnerFetch;
(
  require("kafkajs/src/consumer/consumerGroup.js") as { prototype: { fetch: typeof consumerGroupFetch } }
).prototype.fetch = consumerGroupFetch;

const kafkajs = require("kafkajs") as typeof KafkaJS;

export const { Kafka, logLevel, ConfigResourceTypes, KafkaJSSASLAuthenticationError } = kafkajs;
/** The client's type, under the same name as its class (as kafkajs's own typings have it). */
export type Kafka = KafkaJS.Kafka;
