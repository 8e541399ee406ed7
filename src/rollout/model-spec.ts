/**
 * Which model to load, as the admin endpoints, the shadow settings and `compare` name it: a local
 * directory, or a hub repo id and revision, and a variant. Whatever it leaves out comes from
 * `config.model` (cache, hub URL, offline, max length).
 */
import { z } from "zod";
import type { Config } from "../config/index.js";
import { modelKind, repoId, revision, sha256Hex } from "../config/schema.js";

export const modelSpecSchema = z.strictObject({
  dir: z.string().min(1).optional(),
  id: repoId.optional(),
  revision: revision.optional(),
  variant: z.enum(["fp32", "int8"]).optional(),
  /** `zero-shot` for an NLI teacher (auto-detected from config.json otherwise); see `model.kind`. */
  kind: modelKind.optional(),
  /** The SHA-256 the spec's ONNX file must have (like `model.sha256`). */
  sha256: sha256Hex.optional(),
});

export type ModelSpec = z.infer<typeof modelSpecSchema>;

/**
 * `config.model` with the spec over it. A spec naming a hub id or revision but no directory drops
 * `model.dir`, so `{"revision": "v2"}` means the hub even when the primary came from a directory.
 */
export function modelConfigOf(base: Config["model"], spec: ModelSpec): Config["model"] {
  const { dir, sha256, ...rest } = base;
  const hub = spec.id !== undefined || spec.revision !== undefined;
  const chosenDir = spec.dir ?? (hub ? undefined : dir);
  const chosen = {
    ...rest,
    ...(spec.id !== undefined ? { id: spec.id } : {}),
    ...(spec.revision !== undefined ? { revision: spec.revision } : {}),
    ...(spec.variant !== undefined ? { variant: spec.variant } : {}),
    ...(spec.kind !== undefined ? { kind: spec.kind } : {}),
    ...(chosenDir !== undefined ? { dir: chosenDir } : {}),
  };
  // `model.sha256` pins the primary's ONNX file: it goes with a spec naming other files, unless the spec pins its own.
  const same =
    chosen.dir === dir && chosen.id === base.id && chosen.revision === base.revision && chosen.variant === base.variant;
  const pin = spec.sha256 ?? (same ? sha256 : undefined);
  return { ...chosen, ...(pin !== undefined ? { sha256: pin } : {}) };
}

/** The spec that loads `model` again (for a roll-back). */
export function specOf(model: Config["model"]): ModelSpec {
  const pin = model.sha256 !== undefined ? { sha256: model.sha256 } : {};
  return model.dir !== undefined
    ? { dir: model.dir, variant: model.variant, ...pin }
    : { id: model.id, revision: model.revision, variant: model.variant, ...pin };
}

/** A spec from a request body; throws a message fit for the response when it is not one. */
export function parseModelSpec(body: unknown, extra: readonly string[] = []): ModelSpec {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new Error('expected a JSON object like {"dir": "/models/v2", "variant": "int8"}');
  }
  // Defined, not assigned: `picked.__proto__ = v` would make v the prototype, and the schema would
  // read `dir` through it. As an own key, "__proto__" is an unknown field like any other.
  const picked = Object.fromEntries(Object.entries(body).filter(([k]) => !extra.includes(k)));
  const parsed = modelSpecSchema.safeParse(picked);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  }
  if (Object.keys(parsed.data).length === 0) {
    throw new Error("name a model: dir, or id and/or revision, and/or variant");
  }
  return parsed.data;
}
