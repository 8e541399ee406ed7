/**
 * Hub repo ids and revisions, checked as the hub checks them before either becomes part of a URL or
 * of a path in `model.cacheDir`. Each function returns why the value is unusable, or undefined.
 */

/**
 * One part of a repo id, as huggingface_hub's `validate_repo_id` has it: 1 to 96 of `A-Za-z0-9_.-`,
 * starting and ending with a letter, digit or `_` (its regex puts `\b` at both ends).
 */
const ID_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;

/** `name` or `org/name` as huggingface_hub's `validate_repo_id` accepts them. */
export function repoIdProblem(id: string): string | undefined {
  const parts = id.split("/");
  if (parts.length > 2) return "a hub repo id is `name` or `org/name`, with one slash at most";
  if (!parts.every((part) => ID_PART.test(part))) {
    return "each part of a hub repo id is 1 to 96 of A-Z a-z 0-9 _ . - and starts and ends with a letter, a digit or _";
  }
  // `--` is also what separates org and name in the cache folder: `a--b/c` and `a/b--c` would share one.
  if (id.includes("--") || id.includes("..")) return "a hub repo id cannot contain `--` or `..`";
  if (id.endsWith(".git")) return "a hub repo id cannot end in `.git`";
  return undefined;
}

/** Longest revision once URL-encoded: it names a file (refs/<revision>) in the cache, and a file name has 255 bytes. */
const MAX_ENCODED_REVISION = 200;

/**
 * A branch, a tag or a commit sha. Branch and tag names follow git's rules (`git check-ref-format`),
 * narrowed to printable ASCII: no `..`, no part that starts with `.` or ends in `.lock`, no `~ ^ : ? * [ \`,
 * no `@{`, no empty part (leading, trailing or double `/`), not ending in `.`. That rules out `.` and `..`,
 * which would name a directory instead of a file in the cache.
 */
export function revisionProblem(revision: string): string | undefined {
  if (!/^[\x21-\x7e]+$/.test(revision)) {
    return "a revision is a branch, a tag or a commit sha: printable ASCII without spaces";
  }
  const parts = revision.split("/");
  if (
    /[~^:?*[\\]/.test(revision) ||
    revision.includes("..") ||
    revision.includes("@{") ||
    revision === "@" ||
    revision.endsWith(".") ||
    parts.some((part) => part === "" || part.startsWith(".") || part.endsWith(".lock"))
  ) {
    return (
      "not a branch, tag or commit sha: git refuses `..`, `@{`, any of ~ ^ : ? * [ \\, " +
      "a part that is empty or starts with `.` or ends in `.lock`, and a final `.`"
    );
  }
  if (encodeURIComponent(revision).length > MAX_ENCODED_REVISION) {
    return `too long: at most ${MAX_ENCODED_REVISION} characters once URL-encoded (it names a file in model.cacheDir)`;
  }
  return undefined;
}

/** The hub's base URL: http or https, and no credentials in it (they would show in every error that names a URL). */
export function hubUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined; // z.url() says so
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an http or https URL";
  if (url.username !== "" || url.password !== "") {
    return "must not hold credentials (user:password@): for a private hub or repo, set HF_TOKEN (sent as a bearer token)";
  }
  return undefined;
}
