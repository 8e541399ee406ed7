/**
 * The leaf fields of the configuration schema, read once from its JSON Schema form. The
 * environment, the flags, redaction and the generated reference all come from this list, so a
 * field added to the schema is reachable everywhere without another edit.
 */
import { z } from "zod";
import { configSchema } from "./schema.js";

export type FieldKind = "string" | "number" | "integer" | "boolean" | "string[]";

export interface ConfigField {
  /** Dotted path, e.g. `batching.maxBatchSize`. */
  path: string;
  kind: FieldKind;
  description: string;
  default?: unknown;
  choices?: readonly string[];
  /** Environment variable names, the derived `SW_...` first. */
  env: readonly string[];
  /** `true` redacts the whole value; `"url"` only the credentials inside a URL (password, `?token=`). */
  secret?: true | "url";
}

interface JsonSchemaNode {
  type?: string;
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  enum?: string[];
  default?: unknown;
  description?: string;
  env?: string[];
  secret?: true | "url";
}

export const ENV_PREFIX = "SW_";

/** `batching.maxBatchSize` -> `SW_BATCHING_MAX_BATCH_SIZE` */
export function envNameFor(path: string): string {
  return (
    ENV_PREFIX +
    path
      .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
      .replace(/\./g, "_")
      .toUpperCase()
  );
}

function kindOf(node: JsonSchemaNode, path: string): { kind: FieldKind; choices?: string[] } {
  if (node.type === "array") {
    return { kind: "string[]", ...(node.items?.enum ? { choices: node.items.enum } : {}) };
  }
  if (node.type === "string" || node.type === "number" || node.type === "integer" || node.type === "boolean") {
    return { kind: node.type, ...(node.enum ? { choices: node.enum } : {}) };
  }
  throw new Error(`config field ${path}: unsupported schema type ${String(node.type)}`);
}

function collect(node: JsonSchemaNode, prefix: string, out: ConfigField[]): void {
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (child.type === "object") {
      collect(child, path, out);
      continue;
    }
    out.push({
      path,
      ...kindOf(child, path),
      description: child.description ?? "",
      ...(child.default !== undefined ? { default: child.default } : {}),
      env: [envNameFor(path), ...(child.env ?? [])],
      ...(child.secret ? { secret: child.secret } : {}),
    });
  }
}

let cached: readonly ConfigField[] | undefined;

export function configFields(): readonly ConfigField[] {
  if (!cached) {
    const out: ConfigField[] = [];
    collect(z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchemaNode, "", out);
    cached = out;
  }
  return cached;
}

export function fieldByPath(path: string): ConfigField | undefined {
  return configFields().find((f) => f.path === path);
}
