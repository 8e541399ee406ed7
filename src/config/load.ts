/**
 * Builds the effective configuration: schema defaults, then an optional YAML/JSON file, then the
 * environment, then command-line flags. Every problem is collected and reported at once with the
 * field's path, the reason and where the value came from.
 */
import { readFileSync } from "node:fs";
import { parseDocument, type YAMLError } from "yaml";
import { ConfigError, type ConfigProblem } from "../errors/errors.js";
import { coerce } from "./coerce.js";
import { type ConfigField, configFields, ENV_PREFIX, fieldByPath } from "./fields.js";
import { redactUrl } from "./redact.js";
import { type Config, configSchema } from "./schema.js";

/** The environment variable that names a configuration file (the `--config` flag wins). */
export const CONFIG_FILE_ENV = `${ENV_PREFIX}CONFIG`;

export interface ConfigSources {
  /** Path of a YAML or JSON file. */
  file?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
  /** Flag values by field path, as typed on the command line. */
  flags?: Readonly<Record<string, string>>;
}

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys[keys.length - 1] as string] = value;
}

function leafPaths(value: unknown, prefix: string, out: string[]): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leafPaths(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.push(prefix);
  }
  return out;
}

/** What a YAML (or JSON) syntax error means, by the library's code: its own message is not used. */
const YAML_ERRORS: Partial<Record<YAMLError["code"], string>> = {
  BAD_DQ_ESCAPE: "bad escape in a double-quoted string",
  BAD_INDENT: "bad indentation",
  BLOCK_AS_IMPLICIT_KEY: "a block value used as a key",
  BLOCK_IN_FLOW: "a block value inside [ ] or { }",
  DUPLICATE_KEY: "a key given twice",
  MISSING_CHAR: "a missing character (a closing quote, bracket or brace?)",
  MULTILINE_IMPLICIT_KEY: "a key that spans lines",
  MULTIPLE_DOCS: "more than one document",
  TAB_AS_INDENT: "a tab used as indentation",
  UNEXPECTED_TOKEN: "unexpected content",
};

/**
 * Where a syntax error or warning is, and its kind: never the library's message, which quotes the
 * offending line with a caret, and that line may hold a password.
 */
function yamlProblemText(e: YAMLError): string {
  const at = e.linePos?.[0];
  const where = at ? `line ${at.line}, column ${at.col}` : `offset ${e.pos[0]}`;
  return `${where}: ${YAML_ERRORS[e.code] ?? "invalid YAML or JSON"} (${e.code})`;
}

function readFile(file: string, problems: ConfigProblem[], warnings: string[]): Tree {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    problems.push({ path: "", reason: `cannot read configuration file: ${(e as Error).message}`, source: file });
    return {};
  }
  // logLevel "error": the library's own warnings print the offending line to stderr; ours do not.
  const doc = parseDocument(text, { logLevel: "error" });
  const error = doc.errors[0];
  if (error) {
    problems.push({ path: "", reason: `cannot parse configuration file: ${yamlProblemText(error)}`, source: file });
    return {};
  }
  for (const w of doc.warnings) warnings.push(`configuration file ${file}: ${yamlProblemText(w)}`);
  let parsed: unknown;
  try {
    parsed = doc.toJS();
  } catch {
    // A ReferenceError whose message names the alias: not shown either.
    const reason = "cannot parse configuration file: an alias (*name) without its anchor, or too many aliases";
    problems.push({ path: "", reason, source: file });
    return {};
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    problems.push({ path: "", reason: "a configuration file must hold a mapping of sections", source: file });
    return {};
  }
  return parsed as Tree;
}

/** `=value` for the error messages, never for a secret. */
function shown(field: ConfigField, text: string): string {
  return field.secret ? "" : `=${text}`;
}

/** The source of a path: its own, an enclosing field's (array items), or one of its leaves'. */
function originOf(origin: ReadonlyMap<string, string>, path: string): string | undefined {
  for (let p = path; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
    const found = origin.get(p);
    if (found) return found;
  }
  return [...origin].find(([leaf]) => leaf.startsWith(`${path}.`))?.[1];
}

/** A secret typed as a flag: any user can read it in the process list (`ps`, /proc/<pid>/cmdline). */
function secretFlagWarning(field: ConfigField, text: string): string | undefined {
  // A URL field is a secret only when it carries a credential (a password, a `?password=`).
  if (!field.secret || (field.secret === "url" && redactUrl(text) === text)) return undefined;
  return (
    `--${field.path} on the command line can be read by other users in the process list: ` +
    `set the environment variable ${field.env[0]} or put it in the configuration file instead`
  );
}

export interface LoadedConfig {
  config: Config;
  /** Risky but valid choices to tell the user about, e.g. a secret given as a flag. */
  warnings: string[];
}

export function loadConfig(sources: ConfigSources = {}): Config {
  return loadConfigWithWarnings(sources).config;
}

export function loadConfigWithWarnings(sources: ConfigSources = {}): LoadedConfig {
  const env = sources.env ?? {};
  const warnings: string[] = [];
  const problems: ConfigProblem[] = [];
  /** Where each leaf's value came from, for the error messages. */
  const origin = new Map<string, string>();
  const file = sources.file ?? env[CONFIG_FILE_ENV];

  const raw: Tree = file ? readFile(file, problems, warnings) : {};
  if (file) for (const p of leafPaths(raw, "", [])) origin.set(p, `file ${file}`);

  const known = new Set<string>([CONFIG_FILE_ENV]);
  for (const field of configFields()) {
    for (const name of field.env) known.add(name);
    // The derived SW_ name is listed first, so it wins over an alias such as KAFKA_BROKERS.
    const name = field.env.find((n) => env[n] !== undefined);
    if (name !== undefined) {
      setPath(raw, field.path, coerce(field.kind, env[name] as string));
      origin.set(field.path, `environment ${name}${shown(field, env[name] as string)}`);
    }
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith(ENV_PREFIX) && !known.has(name)) {
      problems.push({ path: name, reason: "unknown environment variable (see the configuration reference)" });
    }
  }

  for (const [path, text] of Object.entries(sources.flags ?? {})) {
    const field = fieldByPath(path);
    if (!field) {
      problems.push({ path, reason: "unknown configuration flag" });
      continue;
    }
    setPath(raw, path, coerce(field.kind, text));
    origin.set(path, `flag --${path}${shown(field, text)}`);
    const warning = secretFlagWarning(field, text);
    if (warning) warnings.push(warning);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.join(".");
      const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : [];
      const paths = unknownKeys.length ? unknownKeys.map((k) => (path ? `${path}.${k}` : k)) : [path];
      for (const p of paths) {
        const source = originOf(origin, p);
        problems.push({
          path: p,
          reason: unknownKeys.length ? "unknown field" : issue.message,
          ...(source ? { source } : {}),
        });
      }
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return { config: result.data, warnings };
}
