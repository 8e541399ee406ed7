/**
 * Start-up check of the topics the worker writes to: with `kafka.createTopics` off (the default) a
 * missing topic stops start-up with a clear error instead of failing on the first produce.
 */
import type { Admin } from "kafkajs";
import { ConfigError } from "../errors/errors.js";

export interface TopicRequirement {
  topic: string;
  /** The configuration field that names it, for the error message. */
  field: string;
}

export async function ensureTopics(
  admin: Admin,
  required: readonly TopicRequirement[],
  create: boolean,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = required.filter((r) => !existing.has(r.topic));
  if (missing.length === 0) return;
  if (!create) {
    throw new ConfigError(
      missing.map((m) => ({
        path: m.field,
        reason: `topic ${m.topic} does not exist: create it, or set kafka.createTopics to let the worker create it`,
      })),
    );
  }
  // The broker's defaults decide partitions and replication; production clusters usually pre-create.
  await admin.createTopics({ topics: missing.map((m) => ({ topic: m.topic })), waitForLeaders: true });
}
