/**
 * The download cache. Layout (like huggingface_hub's, without its separate blob store):
 *
 *   <cacheDir>/<org>--<name>/<commit>/<files>        the repo's files at that commit, with the repo's own
 *                                                    paths (config.json, onnx/model.onnx, ...)
 *   <cacheDir>/<org>--<name>/refs/<revision>         the commit the revision (branch or tag) resolved to;
 *                                                    URI-encoded, so `refs/pr/1` is one file
 *
 * Each file is written to a `.<name>.<random>.part` temp file next to its final name, checked against
 * a digest, then renamed (atomic on one file system), so a file under <commit>/ is always complete and
 * verified; temp files left by a killed fetch are swept by the next one (part-files.ts). The ref is
 * written last, so it only ever points at a snapshot that passed validation. A cached revision is never
 * looked up again: delete refs/<revision> (or the repo's directory) to pick up a moved branch.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hasModelFiles } from "./local-dir.js";
import { partPathFor } from "./part-files.js";
import type { ModelVariant } from "./types.js";

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * `<cacheDir>/<org>--<name>`. The id must have passed `repoIdProblem`: no `--` in it, so no two ids share a
 * folder, and no `..`.
 */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, repo.replace("/", "--"));
}

function refPath(repoDir: string, revision: string): string {
  return join(repoDir, "refs", encodeURIComponent(revision));
}

/** The commit of a complete cached snapshot of the revision for the variant, or undefined. */
export async function cachedCommit(
  repoDir: string,
  revision: string,
  variant: ModelVariant,
): Promise<string | undefined> {
  const ref = refPath(repoDir, revision);
  const commit = existsSync(ref) ? (await readFile(ref, "utf8")).trim() : COMMIT.test(revision) ? revision : undefined;
  if (commit === undefined || !COMMIT.test(commit)) return undefined;
  return hasModelFiles(join(repoDir, commit), variant) ? commit : undefined;
}

/** Records what the revision resolved to, atomically (temp file + rename). */
export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  const ref = refPath(repoDir, revision);
  await mkdir(join(repoDir, "refs"), { recursive: true });
  // Random, not the pid: pods sharing a cache volume all run as pid 1.
  const temp = partPathFor(ref);
  await writeFile(temp, commit);
  await rename(temp, ref);
}
