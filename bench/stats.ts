/**
 * The statistics and the report formatting every benchmark shares: on a shared, noisy machine each
 * figure is a median over interleaved repeats with its spread beside it, and each comparison is a
 * ratio against a peer measured in the same run. One definition of each, so the tables of the
 * inference, tokenizer and end-to-end benchmarks mean the same thing.
 */

/** Ascending copy; the input is left alone. */
function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** The middle value (the mean of the two middle ones for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Nearest-rank percentile, `p` in [0, 1]: the value at index floor(p × n) of the sorted values
 * (so p99 of 100 latencies is the largest but one). NaN when empty.
 */
export function percentile(xs: readonly number[], p: number): number {
  return percentiles(xs, [p])[0] as number;
}

/** Several percentiles with one sort (latency runs hold many samples). */
export function percentiles(xs: readonly number[], ps: readonly number[]): number[] {
  if (xs.length === 0) return ps.map(() => Number.NaN);
  const s = sorted(xs);
  return ps.map((p) => s[Math.min(s.length - 1, Math.max(0, Math.floor(p * s.length)))] as number);
}

/** How far repeats of one figure lie apart: the extremes, and the quartiles (inclusive, linear). */
export interface Spread {
  min: number;
  max: number;
  q1: number;
  q3: number;
}

/** Linear interpolation between closest ranks (numpy's default), for the quartiles. */
function quantile(s: readonly number[], p: number): number {
  const at = p * (s.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (at - lo);
}

export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { min: Number.NaN, max: Number.NaN, q1: Number.NaN, q3: Number.NaN };
  const s = sorted(xs);
  return { min: s[0] as number, max: s.at(-1) as number, q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
}

/** Each repeat's a ÷ b, paired by index (the runs of one repeat sit next to each other in time). */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / (b[i] ?? Number.NaN));
}

/**
 * References measured around `n` runs, one before each and one after the last: run i's reference
 * is the mean of the one before and the one after it, so a machine slowing or speeding up over the
 * repeats does not count for or against the runs. With no reference after the last, as measured.
 */
export function bracketed(references: readonly number[], n: number): number[] {
  if (references.length <= n) return [...references];
  return references.slice(0, n).map((x, i) => (x + (references[i + 1] as number)) / 2);
}

/** A number for a table: thousands separated, NaN (or undefined) as "–". */
export function fmt(x: number | undefined, digits = 0): string {
  if (x === undefined || Number.isNaN(x)) return "–";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** One decimal below 100 (slow models), none above. */
export const rateDigits = (x: number): number => (Math.abs(x) < 100 ? 1 : 0);

/** A ratio with two decimals. */
export const fmtRatio = (x: number | undefined): string => fmt(x, 2);

/** The extremes of the repeats, "5,500–6,500" (one value alone when they are equal or single). */
export function fmtRange(xs: readonly number[], digits = 0): string {
  const { min, max } = spread(xs);
  const [lo, hi] = [fmt(min, digits), fmt(max, digits)];
  return lo === hi ? lo : `${lo}–${hi}`;
}

/** "6,000 (5,500–6,500)": the median of the repeats and, with more than one, their range. */
export function fmtMedianRange(xs: readonly number[], digits = 0): string {
  const m = fmt(median(xs), digits);
  return xs.length > 1 ? `${m} (${fmtRange(xs, digits)})` : m;
}

/** "met", or "missed by 12%" against a lower bound (`atLeast`) or an upper one. */
export function verdict(got: number, want: number, atLeast = true): string {
  if (Number.isNaN(got)) return "not measured";
  if (atLeast ? got >= want : got <= want) return "met";
  const short = atLeast ? 1 - got / want : got / want - 1;
  return `missed by ${(100 * short).toFixed(0)}%`;
}

export type Align = "left" | "right";

/** A Markdown table: the header, its alignment row, and one line a row; `|` in cells is escaped. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly Align[],
) {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = header.map((_, i) => (align?.[i] === "right" ? "---:" : "---"));
  return [line(header), `| ${rule.join(" | ")} |`, ...rows.map(line)];
}

export interface Target {
  name: string;
  got: number;
  /** Shown as written, e.g. "≥ 0.95". */
  want: string;
  status: string;
}

/** The "target | measured | wanted | status" table every benchmark ends with. */
export function targetsTable(targets: readonly Target[]): string[] {
  return markdownTable(
    ["target", "measured", "wanted", ""],
    targets.map((t) => [t.name, fmt(t.got, Math.abs(t.got) < 10 ? 2 : 0), t.want, t.status]),
    ["left", "right", "right", "left"],
  );
}
