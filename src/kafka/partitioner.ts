/**
 * kafkajs's default partitioner (the Java client's murmur2 of the key, modulo the partition count;
 * round robin over available partitions without a key), with a murmur2 in 32-bit arithmetic.
 * kafkajs computes murmur2 on BigInts it never truncates, so the time grows with the square of the
 * key's length: a 300 KB key took 16.5 s of CPU, long enough to stall the event loop past the
 * session timeout. Outputs are keyed by their input's key, so any key a producer can send must
 * hash in linear time. Same partitions as kafkajs and the Java client (checked by its unit test).
 */
import { randomBytes } from "node:crypto";
import type { ICustomPartitioner, PartitionerArgs } from "kafkajs";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** The Java client's `Utils.murmur2`. */
export function murmur2(key: Buffer): number {
  const length = key.length;
  let h = SEED ^ length;
  const tail = length - (length % 4);
  for (let i = 0; i < tail; i += 4) {
    let k =
      (key[i] as number) |
      ((key[i + 1] as number) << 8) |
      ((key[i + 2] as number) << 16) |
      ((key[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last one to three bytes.
  const rest = length % 4;
  if (rest > 0) {
    if (rest === 3) h ^= (key[tail + 2] as number) << 16;
    if (rest >= 2) h ^= (key[tail + 1] as number) << 8;
    h ^= key[tail] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const toPositive = (x: number) => x & 0x7fffffff;

/** For `kafka.producer({ createPartitioner })`. */
export const createPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }: PartitionerArgs) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) {
      const key = Buffer.isBuffer(message.key) ? message.key : Buffer.from(String(message.key));
      return toPositive(murmur2(key)) % partitionMetadata.length;
    }
    const counter = (counters.get(topic) ?? randomBytes(4).readUInt32BE(0)) + 1;
    counters.set(topic, counter);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length > 0)
      return (available[toPositive(counter) % available.length] as { partitionId: number }).partitionId;
    return toPositive(counter) % partitionMetadata.length;
  };
};
