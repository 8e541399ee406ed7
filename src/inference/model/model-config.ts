import { ModelError } from "../../errors/errors.js";

const noLabels =
  'export it with labels (an id2label like {"0":"positive","1":"neutral","2":"negative"}), ' +
  "e.g. `tools/model/run.sh export --source lxyuan/distilbert-base-multilingual-cased-sentiments-student --out <dir>`";

/**
 * Index -> label from config.json's id2label. The keys must be exactly 0..n-1 and the names non-empty:
 * the logits are read by index. transformers' placeholder names (LABEL_0, LABEL_1, ...) count as no labels,
 * since events would then carry meaningless names.
 */
export function labelsFrom(config: Record<string, unknown>, configPath: string): string[] {
  const id2label = config.id2label;
  if (typeof id2label !== "object" || id2label === null || Array.isArray(id2label)) {
    throw new ModelError(`the model's config.json has no id2label (${configPath}): ${noLabels}`);
  }
  const entries = Object.entries(id2label);
  if (entries.length === 0) {
    throw new ModelError(`the model's config.json has an empty id2label (${configPath}): ${noLabels}`);
  }
  const labels: string[] = new Array(entries.length);
  for (const [key, name] of entries) {
    const index = /^(0|[1-9]\d*)$/.test(key) ? Number(key) : -1;
    if (index < 0 || index >= entries.length) {
      throw new ModelError(
        `the id2label of ${configPath} has key "${key}": the keys must be 0..${entries.length - 1}, one per output of the model`,
      );
    }
    if (typeof name !== "string" || name.trim() === "") {
      throw new ModelError(
        `the id2label of ${configPath} maps ${key} to ${JSON.stringify(name)}: expected a label name`,
      );
    }
    labels[index] = name;
  }
  if (labels.every((name, i) => name === `LABEL_${i}`)) {
    throw new ModelError(`the model's config.json has only placeholder labels LABEL_0.. (${configPath}): ${noLabels}`);
  }
  return labels;
}

/** A length limit, or undefined when absent or not a positive integer (tokenizers write 1e30 for "none": min() ignores it). */
function limit(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** The configured maxLength, lowered to what the tokenizer and the position embeddings allow. */
export function maxLengthFrom(
  configured: number,
  config: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown> | undefined,
): number {
  const limits = [configured, limit(tokenizerConfig?.model_max_length), limit(config.max_position_embeddings)];
  return Math.min(...limits.filter((n): n is number => n !== undefined));
}
