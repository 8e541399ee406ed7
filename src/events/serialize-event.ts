/**
 * Events as JSON text. With passthrough, the decoder keeps an input number that a double cannot
 * hold exactly (a 64-bit id, 1e400) as a LosslessNumber; JSON.stringify would print that as an
 * object, so such values are printed with lossless-json, which writes the number's own digits.
 * Everything else takes the native JSON.stringify (much faster).
 */
import { isLosslessNumber, stringify as losslessStringify } from "lossless-json";
import type { SentimentEvent } from "./sentiment-event.js";

/** Whether a LosslessNumber is anywhere in `value` (iterative: the depth of the input is not ours). */
export function hasLosslessNumbers(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node !== "object" || node === null) continue;
    if (isLosslessNumber(node)) return true;
    for (const item of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof item === "object" && item !== null) pending.push(item);
    }
  }
  return false;
}

/** The JSON text of any value, numbers kept as LosslessNumber printed with their digits. */
export function serializeJson(value: unknown): string {
  return (hasLosslessNumbers(value) ? losslessStringify(value) : JSON.stringify(value)) ?? "null";
}

/** The JSON text of an event, as the sinks write it. */
export function serializeEvent(event: SentimentEvent): string {
  // Only `input` can hold a LosslessNumber: the rest of an event is made by the worker.
  return event.input !== undefined && hasLosslessNumbers(event.input)
    ? (losslessStringify(event) ?? "null")
    : JSON.stringify(event);
}
