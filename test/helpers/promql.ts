/**
 * The metric names a PromQL expression (or a Grafana panel's, its variables replaced) reads, for
 * checking them against what a real Prometheus holds. Not a parser: it drops what cannot name a
 * metric (strings, label matchers, ranges, grouping clauses) and keeps the identifiers left that are
 * neither functions nor keywords. Its own test covers the shapes the chart's rules and dashboard use.
 */

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"]);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals (label values)
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " "); // label lists
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = m[0];
    const at = m.index ?? 0;
    if (/^\s*\(/.test(stripped.slice(at + name.length))) continue; // a function or aggregation
    if (/[0-9.]/.test(stripped[at - 1] ?? " ")) continue; // the unit of a number or duration
    if (KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Grafana's variables in a panel's expression, as the dashboard's "All" selects them. */
export function withAllVariables(expr: string): string {
  return expr.replace(/\$\{?(namespace|job)\}?/g, ".*");
}
