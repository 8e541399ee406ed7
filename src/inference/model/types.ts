import type { Config } from "../../config/schema.js";

/** A model directory checked and ready for the tokenizer and the ONNX Runtime session. */
export interface ModelFiles {
  /** Local directory holding the files (the user's `model.dir`, or a snapshot in the cache). */
  dir: string;
  /** The chosen variant's ONNX file. */
  onnxPath: string;
  /** tokenizer.json (Hugging Face tokenizers format). */
  tokenizerPath: string;
  /** Index -> label, from config.json's id2label. */
  labels: string[];
  /** Tokens per text: the smallest of the configured, the tokenizer's and the position embeddings' limits. */
  maxLength: number;
  /** Repo id, or manifest.source, or the directory name. */
  name: string;
  /** The hub commit sha, or manifest.revision, or "local". */
  revision: string;
}

export type ModelVariant = Config["model"]["variant"];

/** `config.model` plus what only the process knows (fetch for tests, the HF token, the environment). */
export type ModelSourceOptions = Pick<
  Config["model"],
  "id" | "revision" | "dir" | "cacheDir" | "variant" | "hubUrl" | "offline" | "maxLength"
> &
  Partial<Pick<Config["model"], "sha256">> & {
    /** Replaces the global fetch (tests, proxies). */
    fetch?: typeof fetch;
    /** Hugging Face token for private or gated repos, sent as `Authorization: Bearer`; default: env HF_TOKEN. */
    token?: string | undefined;
    /** Where HF_TOKEN and HF_HUB_OFFLINE are read; default: process.env. */
    env?: Readonly<Record<string, string | undefined>>;
    /** Progress lines for people (downloads); default: silent. */
    log?: (message: string, fields?: Record<string, unknown>) => void;
  };
