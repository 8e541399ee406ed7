/**
 * A batch of encoded texts as the model's int64 input tensors, padded to the batch's own longest
 * item. Values are written through an Int32Array view of the BigInt64Array's buffer (low word =
 * id, high word = 0; ids are small and non-negative), so no BigInt is allocated per token.
 */
import type { PackedIds } from "./packed.js";
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

/** `padBatch` of packed ids (see `PackedIds`): what the model's thread does with a batch it receives. */
export function padPacked({ ids, starts }: PackedIds, padId = PAD_ID): PaddedBatch {
  const size = starts.length - 1;
  let length = 0;
  for (let row = 0; row < size; row++) length = Math.max(length, (starts[row + 1] as number) - (starts[row] as number));
  const inputIds = new BigInt64Array(size * length);
  const attentionMask = new BigInt64Array(size * length);
  // Zeroed already: only the real tokens and, when the padding id is not 0, the padding are written.
  const ids32 = new Int32Array(inputIds.buffer);
  const mask32 = new Int32Array(attentionMask.buffer);
  for (let row = 0; row < size; row++) {
    const from = starts[row] as number;
    const count = (starts[row + 1] as number) - from;
    const base = row * length * 2;
    for (let col = 0; col < count; col++) {
      ids32[base + col * 2] = ids[from + col] as number;
      mask32[base + col * 2] = 1;
    }
    if (padId !== 0) for (let col = count; col < length; col++) ids32[base + col * 2] = padId;
  }
  return { size, length, inputIds, attentionMask, realTokens: (starts[size] as number) - (starts[0] as number) };
}
