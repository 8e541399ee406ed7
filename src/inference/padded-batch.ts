/**
 * A batch of encoded texts as the model's int64 input tensors, padded to the batch's own longest
 * item. Values are written through an Int32Array view of the BigInt64Array's buffer (low word =
 * id, high word = 0; ids are small and non-negative), so no BigInt is allocated per token.
 */
import type { EncodedText } from "./tokenizer.js";

export interface PaddedBatch {
  readonly size: number;
  readonly length: number;
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  /** Real tokens over padded tokens, for the padding-efficiency metric. */
  readonly realTokens: number;
}

/** Padding id: [PAD] is 0 in BERT vocabularies; the attention mask hides it anyway. */
const PAD_ID = 0;

export function padBatch(items: readonly EncodedText[], padId = PAD_ID): PaddedBatch {
  const length = items.reduce((max, item) => Math.max(max, item.ids.length), 0);
  const inputIds = new BigInt64Array(items.length * length);
  const attentionMask = new BigInt64Array(items.length * length);
  const ids32 = new Int32Array(inputIds.buffer);
  const mask32 = new Int32Array(attentionMask.buffer);
  let realTokens = 0;
  for (let row = 0; row < items.length; row++) {
    const ids = (items[row] as EncodedText).ids;
    const base = row * length * 2;
    for (let col = 0; col < length; col++) {
      const real = col < ids.length;
      ids32[base + col * 2] = real ? (ids[col] as number) : padId;
      mask32[base + col * 2] = real ? 1 : 0;
    }
    realTokens += ids.length;
  }
  return { size: items.length, length, inputIds, attentionMask, realTokens };
}
