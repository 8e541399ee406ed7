import { readFile } from "node:fs/promises";
import { ModelError } from "../../errors/errors.js";

/** Reads a JSON object from a model file; anything else is a ModelError naming the file. */
export async function readJsonObject(path: string, fix: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new ModelError(`cannot read ${path}: ${fix}`, { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ModelError(`${path} is not valid JSON (${(cause as Error).message}): ${fix}`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ModelError(`${path} does not hold a JSON object: ${fix}`);
  }
  return value as Record<string, unknown>;
}
