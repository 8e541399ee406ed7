import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoIdProblem, revisionProblem } from "../../config/hub-names.js";
import { ModelError } from "../../errors/errors.js";
import { cachedCommit, repoCacheDir, writeRef } from "./hub-cache.js";
import { HubClient } from "./hub-client.js";
import { readModelDir } from "./local-dir.js";
import { sweepStaleParts } from "./part-files.js";
import type { ModelFiles, ModelSourceOptions, ModelVariant } from "./types.js";
import { missingOnnxMessage, onnxCandidates } from "./variants.js";

const ONNX_EXPORT = "Xenova/distilbert-base-multilingual-cased-sentiments-student";

/**
 * The model to run: `dir` when set, else `id`@`revision` from the hub, downloaded once into `cacheDir`
 * and used from there without the network afterwards (see hub-cache.ts for the layout).
 */
export async function resolveModel(options: ModelSourceOptions): Promise<ModelFiles> {
  if (options.dir !== undefined) return readModelDir(options.dir, options);
  return resolveFromHub(options);
}

/** huggingface_hub's truthy spellings of HF_HUB_OFFLINE. */
function envFlag(value: string | undefined): boolean {
  return ["1", "true", "yes", "on"].includes((value ?? "").trim().toLowerCase());
}

async function resolveFromHub(options: ModelSourceOptions): Promise<ModelFiles> {
  const { id, revision, variant } = options;
  const env = options.env ?? process.env;
  // Also checked with the configuration; here for the admin endpoints, `compare` and other callers.
  const idProblem = repoIdProblem(id);
  if (idProblem !== undefined) {
    throw new ModelError(
      `model.id ${JSON.stringify(id)} is not a hub repo id (${idProblem}): fix model.id, or set model.dir`,
    );
  }
  const revisionProblemFound = revisionProblem(revision);
  if (revisionProblemFound !== undefined) {
    throw new ModelError(`model.revision ${JSON.stringify(revision)}: ${revisionProblemFound}: fix model.revision`);
  }
  const repoDir = repoCacheDir(options.cacheDir, id);
  const cached = await cachedCommit(repoDir, revision, variant);
  if (cached !== undefined) return snapshot(repoDir, id, cached, options);

  if (options.offline || envFlag(env.HF_HUB_OFFLINE)) {
    throw new ModelError(
      `offline (model.offline or HF_HUB_OFFLINE) and the cache ${repoDir} has no ${variant} snapshot of ${id}@${revision}: ` +
        "point model.dir (--model.dir / SW_MODEL_DIR) at a local model directory, or pre-fetch the model with network " +
        "access into the same model.cacheDir (`sentiment-worker model fetch`, or a run without model.offline)",
    );
  }

  const hub = new HubClient({ hubUrl: options.hubUrl, token: options.token ?? env.HF_TOKEN, fetch: options.fetch });
  const info = await hub.revisionInfo(id, revision);
  const files = chooseFiles(
    info.files.map((f) => f.path),
    variant,
    `the hub repo ${id}@${revision}`,
  );
  const swept = await sweepStaleParts(repoDir);
  if (swept.length > 0) options.log?.("removed partial downloads left by an interrupted fetch", { files: swept });
  const dir = join(repoDir, info.sha);
  for (const path of files) {
    if (existsSync(join(dir, path))) continue; // verified when it was written
    const listed = info.files.find((f) => f.path === path) ?? { path };
    // The pin is the ONNX file's; the other files are checked against the hub's digests only.
    const pin = path.endsWith(".onnx") ? options.sha256 : undefined;
    options.log?.("downloading a model file", { file: path, model: id, revision: info.sha });
    await hub.download(id, info.sha, listed, join(dir, path), pin);
  }
  const model = await snapshot(repoDir, id, info.sha, options);
  await writeRef(repoDir, revision, info.sha);
  return model;
}

async function snapshot(repoDir: string, id: string, commit: string, options: ModelSourceOptions): Promise<ModelFiles> {
  const model = await readModelDir(join(repoDir, commit), options);
  return { ...model, name: id, revision: commit };
}

/** The repo files a snapshot needs, small ones first so that a broken repo fails before the big download. */
export function chooseFiles(repoFiles: readonly string[], variant: ModelVariant, where: string): string[] {
  const present = new Set(repoFiles);
  if (!repoFiles.some((f) => f.endsWith(".onnx"))) {
    throw new ModelError(
      `${where} has no ONNX file (only PyTorch/safetensors weights?): set model.id to an ONNX export such as ` +
        `${ONNX_EXPORT}, or export one with \`tools/model/run.sh export --source <repo> --out <dir>\` and set model.dir`,
    );
  }
  const onnx = onnxCandidates(variant).find((f) => present.has(f));
  if (onnx === undefined) throw new ModelError(missingOnnxMessage(variant, where));
  for (const name of ["tokenizer.json", "config.json"]) {
    if (!present.has(name)) {
      throw new ModelError(
        `${where} has no ${name}: use a repo with the tokenizer and config next to the ONNX file (e.g. ${ONNX_EXPORT}), ` +
          "or export one with `tools/model/run.sh export --source <repo> --out <dir>` and set model.dir",
      );
    }
  }
  const optional = ["tokenizer_config.json", "manifest.json"].filter((f) => present.has(f));
  return ["config.json", ...optional, "tokenizer.json", onnx];
}
