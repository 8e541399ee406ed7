import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { ModelError } from "../../errors/errors.js";
import { sha256File } from "./hash.js";
import { readJsonObject } from "./json-file.js";

/** manifest.json as written by `tools/model` (only the fields we use). */
export interface Manifest {
  source?: string;
  revision?: string;
  files: Record<string, { sha256: string; bytes?: number }>;
}

const reexport = "re-export the model with `tools/model/run.sh export` (it writes manifest.json)";

/** The directory's manifest.json, or undefined when there is none (Hugging Face repos have none). */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const path = join(dir, "manifest.json");
  if (!existsSync(path)) return undefined;
  const raw = await readJsonObject(path, reexport);
  if (raw.format !== 1) {
    throw new ModelError(`${path} has format ${JSON.stringify(raw.format)}; this worker reads format 1: ${reexport}`);
  }
  const files: Manifest["files"] = {};
  if (typeof raw.files === "object" && raw.files !== null) {
    for (const [name, entry] of Object.entries(raw.files as Record<string, unknown>)) {
      const { sha256, bytes } = (entry ?? {}) as { sha256?: unknown; bytes?: unknown };
      if (typeof sha256 !== "string") continue;
      files[name] = typeof bytes === "number" ? { sha256, bytes } : { sha256 };
    }
  }
  return {
    ...(typeof raw.source === "string" && raw.source !== "" ? { source: raw.source } : {}),
    ...(typeof raw.revision === "string" && raw.revision !== "" ? { revision: raw.revision } : {}),
    files,
  };
}

/**
 * Checks the files we are about to use against the manifest. A file is looked up by its path in the
 * directory, then by its bare name (an export moved under onnx/ keeps its manifest keys); files the
 * manifest does not list are not checked.
 */
export async function verifyManifest(dir: string, manifest: Manifest, relPaths: readonly string[]): Promise<void> {
  for (const rel of relPaths) {
    const entry = manifest.files[rel] ?? manifest.files[basename(rel)];
    if (entry === undefined) continue;
    const path = join(dir, rel);
    const fix = `the file is corrupt or was changed after export: ${reexport}, or delete ${dir} if it is a download cache`;
    // The size first: it catches truncated copies without reading the whole file.
    const { size } = await stat(path);
    if (entry.bytes !== undefined && size !== entry.bytes) {
      throw new ModelError(`${rel} in ${dir} has ${size} bytes, manifest.json says ${entry.bytes}: ${fix}`);
    }
    const actual = await sha256File(path);
    if (actual !== entry.sha256.toLowerCase()) {
      throw new ModelError(`${rel} in ${dir} has sha256 ${actual}, manifest.json says ${entry.sha256}: ${fix}`);
    }
  }
}
