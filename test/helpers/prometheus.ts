/** Reading the Prometheus text format that `/metrics` serves, for assertions. */

/** Prometheus text format to `name{labels}` -> value, labels sorted, the scope label left out. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/i.exec(line);
    if (!match) continue;
    const [, name, labels = "", value] = match;
    const kept = (labels.match(/[a-z_]+="[^"]*"/gi) ?? []).filter((l) => !l.startsWith("otel_scope_")).sort();
    values.set(kept.length ? `${name}{${kept.join(",")}}` : (name as string), Number(value));
  }
  return values;
}
