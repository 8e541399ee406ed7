/**
 * The temporary files of the cache (`.<name>.<12 hex>.part`, next to the final name: a download, or a
 * ref being written) and the sweep of those a killed or interrupted process left behind.
 *
 * Which ones are orphans: a download writes its .part as the bytes arrive and gives up after
 * DOWNLOAD_IDLE_MS without any (hub-client.ts), so the file of a download still running, in this
 * process or in another one sharing the cache (a second `model fetch`, another pod on the same
 * volume), is never left unmodified for longer. A .part unmodified for STALE_PART_MS (ten times that)
 * is an orphan and goes; a younger one is left alone. Should a writer be frozen that long after all
 * (a suspended process), losing its .part only fails its rename: its fetch fails, retriably, and
 * nothing unchecked is installed.
 */
import { randomBytes } from "node:crypto";
import type { Dirent } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";

/** A download that receives nothing for this long is given up. */
export const DOWNLOAD_IDLE_MS = 60_000;
/** A .part unmodified for this long belongs to no running download. */
export const STALE_PART_MS = 10 * DOWNLOAD_IDLE_MS;

/** Ours, and those of earlier versions (`.<12 hex>.part`, `<ref>.<pid>.<12 hex>.part`). */
const PART = /\.[0-9a-f]{12}\.part$/;

/** A fresh temporary name next to `dest`, hidden so that nothing listing the directory takes it for a file. */
export function partPathFor(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString("hex")}.part`);
}

/** Removes the orphaned .part files under `dir` (at any depth); returns their paths relative to `dir`. */
export async function sweepStaleParts(dir: string, now = Date.now()): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return []; // no cache yet, or not readable: nothing to sweep
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !PART.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    try {
      if (now - (await stat(path)).mtimeMs <= STALE_PART_MS) continue;
      await rm(path, { force: true });
      removed.push(relative(dir, path));
    } catch {
      // Gone meanwhile (another sweep), or a read-only cache: either way not ours to fix here.
    }
  }
  return removed;
}
