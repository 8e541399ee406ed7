/** The rollout of a live worker: the shadow's candidate loader, its optional topic, the metrics. */
import type { Config } from "../config/index.js";
import type { SentimentEvent } from "../events/sentiment-event.js";
import { serializeEvent } from "../events/serialize-event.js";
import type { SentimentClassifier } from "../inference/classifier.js";
import type { SwitchableModels } from "../inference/model-slot.js";
import { loadTextClassifier } from "../inference/text-classifier.js";
import type { RecordProducer } from "../kafka/client.js";
import type { Telemetry } from "../telemetry/index.js";
import { Rollout } from "./rollout.js";

export interface RolloutJob<T extends { classifier: SentimentClassifier }> {
  readonly models: SwitchableModels<T>;
  /** A connected idempotent producer (for `rollout.shadow.topic`). */
  producer(): Promise<RecordProducer>;
}

export async function startRollout<T extends { classifier: SentimentClassifier }>(
  config: Config,
  job: RolloutJob<T>,
  telemetry: Telemetry,
): Promise<Rollout<T>> {
  const { topic, intraOpThreads } = config.rollout.shadow;
  let producer: Promise<RecordProducer> | undefined;
  const publishShadow = topic
    ? async (events: SentimentEvent[]) => {
        producer ??= job.producer();
        const p = await producer.catch((error: unknown) => {
          producer = undefined;
          throw error;
        });
        await p.send([{ topic, messages: events.map((e) => ({ key: e.id, value: serializeEvent(e) })) }]);
      }
    : undefined;
  const rollout = new Rollout<T>({
    config,
    models: job.models,
    loadCandidate: (model) =>
      loadTextClassifier({
        model,
        batching: config.batching,
        runtime: { ...config.runtime, intraOpThreads },
      }),
    ...(publishShadow ? { publishShadow } : {}),
    closeShadowTopic: async () => {
      const p = await producer?.catch(() => undefined);
      await p?.disconnect().catch(() => {});
    },
    logger: telemetry.logger,
    meter: telemetry.metrics.meter,
  });
  await rollout.start();
  return rollout;
}
