/** Turns the text of an environment variable or flag into the kind of value its field holds. */
import type { FieldKind } from "./fields.js";

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/**
 * Values that do not read as the field's kind are passed on unchanged, so the schema reports them
 * with its own message ("expected number, received string") and the field's path.
 */
export function coerce(kind: FieldKind, text: string): unknown {
  const t = text.trim();
  switch (kind) {
    case "number":
    case "integer":
      return t !== "" && Number.isFinite(Number(t)) ? Number(t) : text;
    case "boolean":
      if (TRUE.has(t.toLowerCase())) return true;
      if (FALSE.has(t.toLowerCase())) return false;
      return text;
    case "string[]":
      return t === "" ? [] : t.split(",").map((s) => s.trim());
    case "string":
      return text;
  }
}
