/**
 * A nested configuration object (the keys of docs/configuration.md) as the worker's `SW_*`
 * environment variables. The container gets its settings through the environment rather than a
 * file: it runs with a read-only root filesystem, and the environment wins over a file anyway.
 * Written here rather than imported from src/config so the module stays small and loads no zod.
 */

/** One setting's value: what a JSON or YAML configuration file would hold. */
export type ConfigValue = string | number | boolean | readonly string[] | ConfigObject;

/** A part of the configuration, e.g. `{ batching: { maxBatchSize: 8 } }`. */
export interface ConfigObject {
  readonly [key: string]: ConfigValue | undefined;
}

/** `batching.maxBatchSize` -> `SW_BATCHING_MAX_BATCH_SIZE`, the rule of src/config/fields.ts. */
export function envNameFor(path: string): string {
  return `SW_${path
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/\./g, "_")
    .toUpperCase()}`;
}

function isObject(value: ConfigValue): value is ConfigObject {
  return typeof value === "object" && !Array.isArray(value);
}

/**
 * One variable per leaf; lists are comma-separated, as the worker reads them. An unknown key
 * becomes an unknown `SW_` variable, which the worker refuses at start with exit 78 and a message.
 */
export function configToEnv(config: ConfigObject, prefix = ""): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    const path = prefix ? `${prefix}.${key}` : key;
    if (isObject(value)) {
      Object.assign(env, configToEnv(value, path));
    } else if (Array.isArray(value)) {
      const bad = value.find((item) => item.includes(","));
      if (bad !== undefined)
        throw new Error(`${path}: "${bad}" contains a comma, which a list in the environment cannot hold`);
      env[envNameFor(path)] = value.join(",");
    } else {
      env[envNameFor(path)] = String(value);
    }
  }
  return env;
}

/** `override` merged into `base`, nested objects key by key; lists and values are replaced. */
export function mergeConfig(base: ConfigObject, override: ConfigObject): ConfigObject {
  const merged: Record<string, ConfigValue | undefined> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] =
      value !== undefined && current !== undefined && isObject(value) && isObject(current)
        ? mergeConfig(current, value)
        : value;
  }
  return merged;
}
