/** Paths and readers for the committed model fixtures (made by tools/model; see its README). */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const REPO_ROOT = join(import.meta.dirname, "../../..");
export const TINY_MODEL_DIR = join(REPO_ROOT, "test/fixtures/models/tiny");

export interface ParityItem {
  id: string;
  lang: string;
  text: string;
  ids: number[];
  truncated: boolean;
  fullLength: number;
  logits: [number, number, number];
  quantizedLogits: [number, number, number];
  probs: Record<string, number>;
}

export interface Parity {
  maxLength: number;
  labels: string[];
  items: ParityItem[];
}

/** The Python reference's token ids and logits for the committed corpus, on the tiny model. */
export function tinyParity(): Parity {
  return JSON.parse(readFileSync(join(REPO_ROOT, "test/fixtures/parity/tiny.json"), "utf8")) as Parity;
}

/** The corpus texts a message can carry whole: not blank, not past the model's length. */
export function tinyTexts(): string[] {
  return tinyParity()
    .items.filter((i) => i.text.trim() && !i.truncated)
    .map((i) => i.text);
}

/** The tiny zero-shot NLI teacher (tools/model `fixture --task zero-shot`). */
export const TINY_TEACHER_DIR = join(REPO_ROOT, "test/fixtures/models/tiny-teacher");

export interface TeacherParityItem {
  id: string;
  lang: string;
  text: string;
  truncated: boolean;
  /** One per candidate label, in their order: (text, hypothesis) as tokenized by transformers. */
  pairs: Array<{ ids: number[]; fullLength: number; truncated: boolean }>;
  entailmentLogits: number[];
  quantizedEntailmentLogits: number[];
  /** transformers' ZeroShotClassificationPipeline scores by candidate label. */
  scores: Record<string, number>;
  label: string;
}

export interface TeacherParity {
  maxLength: number;
  nliLabels: string[];
  entailmentIndex: number;
  hypothesisTemplate: string;
  candidateLabels: string[];
  items: TeacherParityItem[];
}

/** transformers' zero-shot pipeline on the committed corpus, on the tiny teacher. */
export function tinyTeacherParity(): TeacherParity {
  return JSON.parse(readFileSync(join(REPO_ROOT, "test/fixtures/parity/tiny-teacher.json"), "utf8")) as TeacherParity;
}
