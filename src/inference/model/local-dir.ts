import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { ModelError } from "../../errors/errors.js";
import { sha256File } from "./hash.js";
import { readJsonObject } from "./json-file.js";
import { type Manifest, readManifest, verifyManifest } from "./manifest.js";
import { labelsFrom, maxLengthFrom } from "./model-config.js";
import type { ModelFiles, ModelVariant } from "./types.js";
import { missingOnnxMessage, onnxCandidates } from "./variants.js";

/** The variant's ONNX file in `dir`, relative to it, or undefined. */
export function findOnnx(dir: string, variant: ModelVariant): string | undefined {
  return onnxCandidates(variant).find((rel) => existsSync(join(dir, rel)));
}

/** Whether `dir` holds every file `readModelDir` needs for the variant (the cache's "complete snapshot"). */
export function hasModelFiles(dir: string, variant: ModelVariant): boolean {
  return (
    findOnnx(dir, variant) !== undefined &&
    existsSync(join(dir, "tokenizer.json")) &&
    existsSync(join(dir, "config.json"))
  );
}

/**
 * A revision for a local export without one: the start of its ONNX file's sha256, so the
 * de-duplication key (which includes the revision) changes when the weights do.
 */
function contentRevision(manifest: Manifest | undefined, onnx: string): string {
  const sha = manifest?.files[onnx]?.sha256 ?? manifest?.files[basename(onnx)]?.sha256;
  return sha ? `sha256:${sha.slice(0, 12)}` : "local";
}

/**
 * Finds and validates the files of an exported model directory: the variant's ONNX file, tokenizer.json,
 * config.json (labels) and, when present, tokenizer_config.json (length limit) and manifest.json (sha256).
 */
export async function readModelDir(
  dirOption: string,
  options: { variant: ModelVariant; maxLength: number; sha256?: string | undefined },
): Promise<ModelFiles> {
  const dir = resolve(dirOption);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelError(
      `the model directory ${dir} does not exist: set model.dir (SW_MODEL_DIR) to a directory made by ` +
        "`tools/model/run.sh export --source <repo> --out <dir>`, or unset it to fetch model.id from the hub",
    );
  }
  const onnx = findOnnx(dir, options.variant);
  if (onnx === undefined) throw new ModelError(missingOnnxMessage(options.variant, dir));
  for (const name of ["tokenizer.json", "config.json"]) {
    if (!existsSync(join(dir, name))) {
      throw new ModelError(
        `${name} is missing from the model directory ${dir}: a model directory holds the ONNX file, tokenizer.json, ` +
          "tokenizer_config.json and config.json; re-export it with `tools/model/run.sh export --source <repo> --out <dir>`",
      );
    }
  }

  const fix = "re-export the model with `tools/model/run.sh export --source <repo> --out <dir>`";
  const manifest = await readManifest(dir);
  const hasTokenizerConfig = existsSync(join(dir, "tokenizer_config.json"));
  const used = [onnx, "tokenizer.json", "config.json", ...(hasTokenizerConfig ? ["tokenizer_config.json"] : [])];
  // Checked before parsing, so a corrupt file is reported as corrupt rather than as bad JSON.
  if (manifest) await verifyManifest(dir, manifest, used);
  if (options.sha256 !== undefined) {
    const actual = await sha256File(join(dir, onnx));
    if (actual !== options.sha256.toLowerCase()) {
      throw new ModelError(
        `${onnx} in ${dir} has sha256 ${actual}, but model.sha256 pins ${options.sha256}: this is not the pinned ` +
          "model; check model.sha256 against model.id, model.revision and model.variant (or model.dir), or delete the " +
          "directory if it is a download cache",
      );
    }
  }

  const configPath = join(dir, "config.json");
  const config = await readJsonObject(configPath, fix);
  const tokenizerConfig = hasTokenizerConfig
    ? await readJsonObject(join(dir, "tokenizer_config.json"), fix)
    : undefined;
  return {
    dir,
    onnxPath: join(dir, onnx),
    tokenizerPath: join(dir, "tokenizer.json"),
    labels: labelsFrom(config, configPath),
    maxLength: maxLengthFrom(options.maxLength, config, tokenizerConfig),
    name: manifest?.source ?? basename(dir),
    revision: manifest?.revision ?? contentRevision(manifest, onnx),
  };
}
