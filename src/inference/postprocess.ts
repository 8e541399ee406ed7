/** Logits to probabilities: softmax over the labels of config.json (the inference thread sends them back whole). */

export interface Sentiment {
  /** The most probable label. */
  label: string;
  score: number;
  /** Every label's probability (they sum to 1). */
  scores: Record<string, number>;
}

/** Softmax of one row of logits, shifted by the maximum so large logits cannot overflow. */
export function softmax(logits: ArrayLike<number>, offset = 0, count = logits.length - offset): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) max = Math.max(max, logits[offset + i] as number);
  const out = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    out[i] = Math.exp((logits[offset + i] as number) - max);
    sum += out[i] as number;
  }
  for (let i = 0; i < count; i++) out[i] = (out[i] as number) / sum;
  return out;
}

/** Softmax of every row of a [rows x labels] logits matrix, into one array (the model's thread sends it back whole). */
export function softmaxRows(logits: Float32Array, labels: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let base = 0; base < logits.length; base += labels) {
    let max = Number.NEGATIVE_INFINITY;
    for (let l = 0; l < labels; l++) max = Math.max(max, logits[base + l] as number);
    let sum = 0;
    for (let l = 0; l < labels; l++) {
      const e = Math.exp((logits[base + l] as number) - max);
      out[base + l] = e;
      sum += e;
    }
    for (let l = 0; l < labels; l++) out[base + l] = (out[base + l] as number) / sum;
  }
  return out;
}
