/**
 * What a model directory is: a classifier, or a zero-shot NLI model (the teacher), from
 * `model.kind` or, with `auto`, from an entailment label in config.json's id2label.
 */
import { join } from "node:path";
import type { Config } from "../../config/index.js";
import { ModelError } from "../../errors/errors.js";
import type { ModelFiles } from "./types.js";

/** The pipeline's rule: the first label starting with "entail", any case; -1 when there is none. */
export function entailmentIndex(nliLabels: readonly string[]): number {
  return nliLabels.findIndex((label) => label.toLowerCase().startsWith("entail"));
}

/** Whether a resolved model is run zero-shot: asked for, or `auto` and an entailment label in config.json. */
export function isZeroShot(model: ModelFiles, kind: Config["model"]["kind"]): boolean {
  if (kind === "classifier") return false;
  const nli = entailmentIndex(model.labels) >= 0;
  if (kind === "zero-shot" && !nli) {
    throw new ModelError(
      `model.kind is zero-shot but the id2label of ${join(model.dir, "config.json")} (${model.labels.join(", ")}) has no ` +
        'entailment label: a zero-shot model is an NLI model with labels like {"0": "entailment", "1": "neutral", "2": "contradiction"}',
    );
  }
  return nli;
}
