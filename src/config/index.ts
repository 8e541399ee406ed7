export { CONFIG_FILE_ENV, type ConfigSources, loadConfig } from "./load.js";
export { redactConfig } from "./redact.js";
export { configReference, withReference } from "./reference.js";
export { type Config, type ConfigInput, configSchema } from "./schema.js";
