/** A copy of the configuration that is safe to print: secret fields masked, URL passwords hidden. */
import { configFields } from "./fields.js";
import type { Config } from "./schema.js";

const MASK = "***";

function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = MASK;
    return url.toString();
  } catch {
    return MASK;
  }
}

export function redactConfig(config: Config): Config {
  const copy = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
  for (const field of configFields()) {
    if (!field.secret) continue;
    const keys = field.path.split(".");
    let node: Record<string, unknown> | undefined = copy;
    for (const key of keys.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
    const leaf = keys[keys.length - 1] as string;
    const value = node?.[leaf];
    if (node && typeof value === "string") node[leaf] = field.secret === "url" ? redactUrl(value) : MASK;
  }
  return copy as unknown as Config;
}
