/**
 * `sentiment-worker/testcontainers`: start the worker's image next to Kafka and Redis in a test
 * suite. docs/testcontainers.md has a complete example.
 */
export { type ConfigObject, type ConfigValue, configToEnv, envNameFor } from "./config-env.js";
export {
  METRICS_PORT,
  MODEL_MOUNT,
  SENTIMENT_WORKER_IMAGE,
  SentimentWorkerContainer,
  STOP_GRACE_MS,
  StartedSentimentWorkerContainer,
} from "./sentiment-worker-container.js";
