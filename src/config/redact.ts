/**
 * A copy of the configuration that is safe to print: secret fields masked; in URL fields, the
 * user-info password and credential-like query parameters (`redis://host?password=…`, which
 * ioredis honours) masked.
 */
import { configFields } from "./fields.js";
import type { Config } from "./schema.js";

const MASK = "***";

/** Query parameters that carry a credential, by exact (lower-case) name. */
const SECRET_PARAMS = new Set([
  "password",
  "pass",
  "passwd",
  "pwd",
  "auth",
  "token",
  "secret",
  "key",
  "apikey",
  "api_key",
  "access_token",
]);
/** …and by a part of the name, e.g. ioredis's `sentinelPassword`, `client_secret`, `x-api-key`. */
const SECRET_PARAM_PARTS = /password|passwd|secret|token|api[-_]?key/;

export function isSecretParam(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_PARAMS.has(lower) || SECRET_PARAM_PARTS.test(lower);
}

/** `name` of a raw `name=value` query part, decoded as URLSearchParams decodes it. */
function paramName(part: string): string {
  const raw = part.split("=", 1)[0] ?? "";
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    return raw;
  }
}

export function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return MASK;
  }
  if (url.password) url.password = MASK;
  if (url.search) {
    // Part by part rather than through searchParams, which would re-encode the parameters kept.
    const parts = url.search.slice(1).split("&");
    url.search = parts
      .map((part) => (isSecretParam(paramName(part)) ? `${part.split("=", 1)[0]}=${MASK}` : part))
      .join("&");
  }
  return url.toString();
}

/** Whether printing the URL would show a credential: a password, or a credential-like query parameter. */
function hasCredential(url: URL): boolean {
  return (
    url.password !== "" ||
    url.search
      .slice(1)
      .split("&")
      .some((part) => isSecretParam(paramName(part)))
  );
}

/** Anything shaped like `scheme://…` inside free text, up to a space or a quote. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/**
 * Free text (an error message, a stack) with every URL that carries a credential redacted as
 * `redactUrl` does; other URLs are left exactly as written. A URL-like run that does not parse but
 * holds an `@` (user-info) is masked whole.
 */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => {
    let url: URL;
    try {
      url = new URL(match);
    } catch {
      return match.includes("@") ? MASK : match;
    }
    return hasCredential(url) ? redactUrl(match) : match;
  });
}

/**
 * A copy of an error that is safe to print or log: its message, its stack and those of its causes
 * (all of them: loggers and `util.inspect` print the chain) with `redactText` applied. The `code`
 * (ECONNREFUSED, …) is kept; anything else the original carried is not.
 */
export function redactError(error: unknown, depth = 0): unknown {
  if (typeof error === "string") return redactText(error);
  if (!(error instanceof Error)) return error;
  const cause = error.cause === undefined || depth >= 8 ? undefined : redactError(error.cause, depth + 1);
  const copy = new Error(redactText(error.message), cause === undefined ? undefined : { cause });
  copy.name = error.name;
  if (error.stack === undefined) delete copy.stack;
  else copy.stack = redactText(error.stack);
  const { code } = error as { code?: unknown };
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
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
