/**
 * kafkajs 2.2.4's produce request (`protocol/requests/produce/v3/request.js`, which versions 4 to 7
 * reuse), writing the whole request into one buffer: each partition's batch (record-batch-encoder.ts)
 * straight into its place. kafkajs's writes each batch into an Encoder, copies it into a partition's
 * Encoder, that into a topic's and that into the request's, each grown by doubling (a new zeroed
 * buffer and a copy each time): several passes over every byte sent, a third of what was left of
 * its cost per record after the batch encoder (bench/record-codec.bench.ts).
 *
 * Same request, same bytes (test/unit/kafka-fixes.test.ts): the same timestamps (a record's own,
 * else the time of encoding, the first and the largest as kafkajs picks them), offset deltas and
 * batch headers. It replaces kafkajs's in the module cache (see kafkajs.ts).
 */
import { createRequire } from "node:module";
import { encoderOf, type KafkaEncoder, stringLength, writeString } from "./kafka-encoder.js";
import { type PreparedBatch, prepareBatch } from "./record-batch-encoder.js";
import { EncodedRecord, type RecordToEncode } from "./record-encoder.js";

const require = createRequire(import.meta.url);

const Long = require("kafkajs/src/utils/long") as { fromInt(value: number): unknown };
const { Produce: API_KEY } = require("kafkajs/src/protocol/requests/apiKeys") as { Produce: number };
const { Types } = require("kafkajs/src/protocol/message/compression") as { Types: { None: number } };

interface Message extends Omit<RecordToEncode, "offsetDelta" | "timestampDelta"> {
  timestamp?: string | number | null;
}

export interface ProduceRequestOptions {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: { partition: number; firstSequence?: number; messages: Message[] }[] }[];
}

/** One partition's batch, as kafkajs's partitionsEncoder makes it. */
async function partitionBatch(
  compression: number,
  messages: Message[],
  batch: { transactional: boolean; producerId: unknown; producerEpoch: number; firstSequence: number | undefined },
): Promise<PreparedBatch> {
  const dateNow = Date.now();
  const given: (string | number)[] = [];
  for (const m of messages) if (m.timestamp != null) given.push(m.timestamp);
  // kafkajs's order: sort() compares as strings.
  const timestamps = given.length === 0 ? [dateNow] : given.sort();
  const firstTimestamp = timestamps[0] as string | number;
  const maxTimestamp = timestamps[timestamps.length - 1];
  const records = messages.map(
    (m, i) =>
      new EncodedRecord(
        i,
        ((m.timestamp || dateNow) as number) - (firstTimestamp as number),
        m.key,
        m.value,
        // kafkajs's record encoder defaults an absent (undefined) headers only.
        m.headers === undefined ? {} : m.headers,
      ),
  );
  return prepareBatch({
    compression,
    records,
    firstTimestamp,
    maxTimestamp,
    producerId: batch.producerId,
    producerEpoch: batch.producerEpoch,
    // kafkajs's RecordBatch defaults an undefined sequence to 0.
    ...(batch.firstSequence === undefined ? {} : { firstSequence: batch.firstSequence }),
    transactional: batch.transactional,
    lastOffsetDelta: records.length - 1,
  });
}

export function produceRequest({
  acks,
  timeout,
  transactionalId = null,
  producerId = Long.fromInt(-1),
  producerEpoch = 0,
  compression = Types.None,
  topicData,
}: ProduceRequestOptions) {
  return {
    apiKey: API_KEY,
    apiVersion: 3,
    apiName: "Produce",
    expectResponse: () => acks !== 0,
    encode: async (): Promise<KafkaEncoder> => {
      const transactional = !!transactionalId;
      const transactionalIdLength = stringLength(transactionalId);
      // transactional id, acks, timeout, the topics' count
      let size = 2 + Math.max(transactionalIdLength, 0) + 2 + 4 + 4;
      const topics: { name: string; nameLength: number; partitions: { partition: number; batch: PreparedBatch }[] }[] =
        [];
      for (const { topic, partitions } of topicData) {
        const nameLength = stringLength(topic);
        size += 2 + Math.max(nameLength, 0) + 4; // the name, the partitions' count
        const prepared: { partition: number; batch: PreparedBatch }[] = [];
        for (const { partition, firstSequence, messages } of partitions) {
          const batch = await partitionBatch(compression, messages, {
            transactional,
            producerId,
            producerEpoch,
            firstSequence,
          });
          size += 4 + 4 + batch.size; // the partition, the batch's size, the batch
          prepared.push({ partition, batch });
        }
        topics.push({ name: topic, nameLength, partitions: prepared });
      }
      // Unzeroed: every byte is written (each batch checks its own end, and the whole is checked below).
      const buf = Buffer.allocUnsafe(size);
      let offset = writeString(buf, 0, transactionalId, transactionalIdLength);
      offset = buf.writeInt16BE(acks, offset);
      offset = buf.writeInt32BE(timeout, offset);
      offset = buf.writeInt32BE(topics.length, offset);
      for (const { name, nameLength, partitions } of topics) {
        offset = writeString(buf, offset, name, nameLength);
        offset = buf.writeInt32BE(partitions.length, offset);
        for (const { partition, batch } of partitions) {
          offset = buf.writeInt32BE(partition, offset);
          offset = buf.writeInt32BE(batch.size, offset);
          offset = batch.writeTo(buf, offset);
        }
      }
      if (offset !== size) throw new Error(`produce request: wrote ${offset} bytes of ${size}`);
      return encoderOf(buf);
    },
  };
}
