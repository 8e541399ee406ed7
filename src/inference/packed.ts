/**
 * A chunk's texts and results as typed arrays, so they cross threads as a few transferred buffers
 * and a chunk costs the main thread one call, not one object or promise per text.
 */
import type { Classified } from "./classifier.js";
import type { EncodedText } from "./tokenizer.js";

/** A chunk's encodings: text `i`'s ids are `ids[starts[i], starts[i + 1])`. */
export interface PackedEncodings {
  ids: Int32Array;
  /** One more than there are texts. */
  starts: Int32Array;
  /** 1 where the text had more tokens than fit and its end was cut. */
  truncated: Uint8Array;
}

/** A batch's ids as they go to the model's thread, unpadded: item `k`'s are `ids[starts[k], starts[k + 1])`. */
export type PackedIds = Pick<PackedEncodings, "ids" | "starts">;

/** A chunk's results, in the order of its encodings. */
export interface PackedResults {
  /** Every label's probability, row-major: text `i`'s are `scores[i × labels, (i + 1) × labels)`, in the model's label order. */
  scores: Float64Array;
}

export function packedCount(encodings: PackedEncodings): number {
  return encodings.starts.length - 1;
}

/** Packs encodings (see PackedEncodings). */
export function packEncodings(encodings: readonly EncodedText[]): PackedEncodings {
  const starts = new Int32Array(encodings.length + 1);
  for (let i = 0; i < encodings.length; i++)
    starts[i + 1] = (starts[i] as number) + (encodings[i] as EncodedText).ids.length;
  const ids = new Int32Array(starts[encodings.length] as number);
  const truncated = new Uint8Array(encodings.length);
  for (let i = 0; i < encodings.length; i++) {
    const encoding = encodings[i] as EncodedText;
    ids.set(encoding.ids, starts[i]);
    truncated[i] = encoding.truncated ? 1 : 0;
  }
  return { ids, starts, truncated };
}

/** Text `i`'s encoding as an object (the per-text paths: `classify`, tests). */
export function unpackEncoding(encodings: PackedEncodings, i: number): EncodedText {
  const ids = Array.from(encodings.ids.subarray(encodings.starts[i] as number, encodings.starts[i + 1] as number));
  return { ids, truncated: encodings.truncated[i] === 1, tokens: ids.length };
}

/** Text `i`'s result as callers see it. */
export function classifiedAt(
  results: PackedResults,
  encodings: PackedEncodings,
  i: number,
  labels: readonly string[],
): Classified {
  const tokens = (encodings.starts[i + 1] as number) - (encodings.starts[i] as number);
  return classifiedRow(results.scores, i, labels, encodings.truncated[i] === 1, tokens);
}

/** Row `row` of probabilities (`labels` per row, in their order) as callers see a result. */
export function classifiedRow(
  probabilities: Float64Array,
  row: number,
  labels: readonly string[],
  truncated: boolean,
  tokens: number,
): Classified {
  const base = row * labels.length;
  const scores: Record<string, number> = {};
  let best = 0;
  for (let l = 0; l < labels.length; l++) {
    const p = probabilities[base + l] as number;
    scores[labels[l] as string] = p;
    if (p > (probabilities[base + best] as number)) best = l;
  }
  return { label: labels[best] as string, score: probabilities[base + best] as number, scores, truncated, tokens };
}

/** The encodings of texts `indexes` (in that order), packed anew. */
export function selectPacked(encodings: PackedEncodings, indexes: readonly number[]): PackedEncodings {
  const starts = new Int32Array(indexes.length + 1);
  const truncated = new Uint8Array(indexes.length);
  for (const [n, i] of indexes.entries()) {
    starts[n + 1] = (starts[n] as number) + (encodings.starts[i + 1] as number) - (encodings.starts[i] as number);
    truncated[n] = encodings.truncated[i] as number;
  }
  const ids = new Int32Array(starts[indexes.length] as number);
  for (const [n, i] of indexes.entries()) {
    ids.set(encodings.ids.subarray(encodings.starts[i] as number, encodings.starts[i + 1] as number), starts[n]);
  }
  return { ids, starts, truncated };
}
