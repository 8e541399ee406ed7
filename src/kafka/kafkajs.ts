/**
 * kafkajs, with the fixes this worker depends on applied before any of its consumer code loads.
 * Import kafkajs's values (Kafka, logLevel, ...) from here, never from "kafkajs" directly: the fix
 * reaches only code loaded after this module ran (types may come from "kafkajs" as usual).
 *
 * - Aborted transactions (aborted-filter.ts): kafkajs's read_committed filter lets records of
 *   aborted transactions through when transactions of several producers interleave; ours is put
 *   in its place in the module cache, which kafkajs's `consumer/batch.js` requires it from.
 */
import { createRequire } from "node:module";
import type * as KafkaJS from "kafkajs";
import { filterAbortedMessages } from "./aborted-filter.js";

const require = createRequire(import.meta.url);
const filterPath = require.resolve("kafkajs/src/consumer/filterAbortedMessages.js");
const batchPath = require.resolve("kafkajs/src/consumer/batch.js");
if (require.cache[batchPath] === undefined) {
  require(filterPath);
  (require.cache[filterPath] as NodeJS.Module).exports = filterAbortedMessages;
} else {
  // Too late: something loaded kafkajs first (an embedding program), and its batches keep the
  // broken filter. Said once; the worker works, with kafkajs's own read_committed filtering.
  process.emitWarning(
    "kafkajs was loaded before sentiment-worker's src/kafka/kafkajs.js: its read_committed filter can let records of aborted transactions through; import sentiment-worker first",
  );
}

const kafkajs = require("kafkajs") as typeof KafkaJS;

export const { Kafka, logLevel, ConfigResourceTypes, KafkaJSSASLAuthenticationError } = kafkajs;
/** The client's type, under the same name as its class (as kafkajs's own typings have it). */
export type Kafka = KafkaJS.Kafka;
