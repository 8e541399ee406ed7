/** What the batch processor's unit tests share: a Kafka job's configuration, quiet telemetry, an answer. */
import { after, before } from "node:test";
import { loadConfig } from "../../src/config/index.js";
import type { Classified } from "../../src/inference/classifier.js";
import { startTelemetry, type Telemetry } from "../../src/telemetry/index.js";

export const kafkaJobConfig = loadConfig({
  env: {},
  flags: { "input.source": "kafka", "kafka.brokers": "127.0.0.1:9092", "kafka.inputTopics": "posts" },
});

/** Telemetry with no server and no logs, started before the file's tests and shut down after; read it inside a test. */
export function quietTelemetry(): { readonly current: Telemetry } {
  const holder: { current: Telemetry | undefined } = { current: undefined };
  before(async () => {
    holder.current = await startTelemetry(
      { ...kafkaJobConfig.telemetry, httpPort: 0, logLevel: "silent" },
      { version: "test" },
    );
  });
  after(async () => {
    await holder.current?.shutdown();
  });
  return holder as { readonly current: Telemetry };
}

export const POSITIVE: Classified = {
  label: "positive",
  score: 0.9,
  scores: { positive: 0.9, neutral: 0.05, negative: 0.05 },
  truncated: false,
  tokens: 3,
};
