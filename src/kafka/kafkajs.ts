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
 */
import { createRequire } from "node:module";
import type * as KafkaJS from "kafkajs";
import { filterAbortedMessages } from "./aborted-filter.js";
import { createSendMessages } from "./send-messages.js";

const require = createRequire(import.meta.url);

/** Puts `replacement` in the module cache as `module`, unless `user` (which requires it) already loaded. */
function replaceModule(module: string, user: string, replacement: unknown): boolean {
  const path = require.resolve(module);
  if (require.cache[require.resolve(user)] !== undefined) return false;
  require(path);
  (require.cache[path] as NodeJS.Module).exports = replacement;
  return true;
}

const fixed = [
  replaceModule(
    "kafkajs/src/consumer/filterAbortedMessages.js",
    "kafkajs/src/consumer/batch.js",
    filterAbortedMessages,
  ),
  replaceModule("kafkajs/src/producer/sendMessages.js", "kafkajs/src/producer/messageProducer.js", createSendMessages),
];
if (fixed.includes(false)) {
  // Too late: something loaded kafkajs first (an embedding program), and it keeps kafkajs's own
  // modules. Said once; the worker runs, with the flaws these fixes are for.
  process.emitWarning(
    "kafkajs was loaded before sentiment-worker's src/kafka/kafkajs.js: its read_committed filter can let records of aborted transactions through, and a produce retry after a broker restart can send records twice; import sentiment-worker first",
  );
}

const kafkajs = require("kafkajs") as typeof KafkaJS;

export const { Kafka, logLevel, ConfigResourceTypes, KafkaJSSASLAuthenticationError } = kafkajs;
/** The client's type, under the same name as its class (as kafkajs's own typings have it). */
export type Kafka = KafkaJS.Kafka;
