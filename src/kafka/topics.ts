/**
 * Start-up check of the topics the worker reads and writes: a missing input, or a missing output
 * with `kafka.createTopics` off (the default), stops start-up with a clear error naming its setting
 * instead of failing on the first fetch or produce. Inputs are never created.
 */
import type { Admin, ITopicConfig } from "kafkajs";
import { ConfigError } from "../errors/errors.js";
import { pause } from "../errors/retry.js";
import type { TopicRequirement } from "./client.js";
import { ConfigResourceTypes } from "./kafkajs.js";

export async function ensureTopics(
  admin: Admin,
  required: readonly TopicRequirement[],
  create: boolean,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = required.filter((r) => !existing.has(r.topic));
  if (missing.length === 0) return;
  const blocking = missing.filter((m) => m.input || !create);
  if (blocking.length > 0) {
    throw new ConfigError(
      blocking.map((m) => ({
        path: m.field,
        reason: m.input
          ? `topic ${m.topic} does not exist: the worker reads it and never creates it`
          : `topic ${m.topic} does not exist: create it, or set kafka.createTopics to let the worker create it`,
      })),
    );
  }
  // The broker's defaults decide partitions and replication; production clusters usually pre-create.
  await createTopics(
    admin,
    missing.map((m) => ({ topic: m.topic })),
  );
}

/**
 * Creates topics and waits until every partition has a leader. kafkajs's own `waitForLeaders`
 * gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers until the new topic reached
 * its metadata cache, so the wait is ours.
 */
export async function createTopics(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false });
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      if (found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if ((error as { type?: string }).type !== "UNKNOWN_TOPIC_OR_PARTITION" || Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.map((t) => t.topic).join(", ")} have no leaders yet`);
    await pause(attempt, { initialMs: 50, maxMs: 500 });
  }
}

/** Kafka's default `max.message.bytes` of a topic (1 MiB plus a record batch's overhead). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/**
 * Each topic's `max.message.bytes`: the largest record batch the broker accepts on it, which no
 * retry gets past. Unknown (no Describe permission on the configs) means the broker's default.
 */
export async function maxMessageBytes(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const limits = new Map(topics.map((topic) => [topic, DEFAULT_MAX_MESSAGE_BYTES]));
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [...new Set(topics)].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ["max.message.bytes"],
      })),
    });
    for (const resource of described.resources) {
      const value = Number(resource.configEntries.find((e) => e.configName === "max.message.bytes")?.configValue);
      if (Number.isSafeInteger(value) && value > 0) limits.set(resource.resourceName, value);
    }
  } catch {
    // The defaults stand.
  }
  return limits;
}
