export {
  CONFIG_FILE_ENV,
  type ConfigSources,
  type LoadedConfig,
  loadConfig,
  loadConfigWithWarnings,
} from "./load.js";
export { redactConfig, redactError, redactText, redactUrl } from "./redact.js";
export { configReference, withReference } from "./reference.js";
export { type Config, type ConfigInput, configSchema } from "./schema.js";
