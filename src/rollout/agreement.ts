/**
 * How often a candidate model agrees with the primary, the model card's way (argmax agreement:
 * the student agrees with its teacher on 88.29% of the evaluation set) and more: per language, per
 * label pair (a confusion matrix primary → candidate) and the mean absolute difference of the
 * scores. Shared by shadow mode (live traffic) and `sentiment-worker compare` (a file).
 */
import { metricLanguage } from "../language/languages.js";

/** One text's scores by label, and the label with the highest score. */
export interface Scored {
  label: string;
  scores: Readonly<Record<string, number>>;
}

interface Tally {
  compared: number;
  agreed: number;
  /** Sum over texts of the mean absolute score difference over labels. */
  scoreDiff: number;
  /** Texts with a reference label, and how many of them each model got right. */
  referenced: number;
  primaryRight: number;
  candidateRight: number;
}

/** Each model against the input's reference labels (`compare --label-field`). */
export interface Accuracy {
  /** Texts with a reference label. */
  reference: number;
  primary: number;
  candidate: number;
}

export interface TallyReport {
  compared: number;
  agreed: number;
  /** agreed / compared (0 when nothing was compared). */
  agreement: number;
  /** Mean over texts and labels of |primary score − candidate score|. */
  meanAbsScoreDiff: number;
  /** When some of the texts had a reference label. */
  accuracy?: Accuracy;
}

export interface AgreementReport extends TallyReport {
  /** Largest |primary score − candidate score| seen. */
  maxAbsScoreDiff: number;
  /** By bounded language (the model's 12, `other`, `und`), most compared first. */
  byLanguage: Array<TallyReport & { lang: string }>;
  /** confusion[primary][candidate] = texts; labels in `labels` order. */
  labels: string[];
  confusion: Record<string, Record<string, number>>;
}

const emptyTally = (): Tally => ({
  compared: 0,
  agreed: 0,
  scoreDiff: 0,
  referenced: 0,
  primaryRight: 0,
  candidateRight: 0,
});

function tallyReport(t: Tally): TallyReport {
  return {
    compared: t.compared,
    agreed: t.agreed,
    agreement: t.compared === 0 ? 0 : t.agreed / t.compared,
    meanAbsScoreDiff: t.compared === 0 ? 0 : t.scoreDiff / t.compared,
    ...(t.referenced > 0
      ? {
          accuracy: {
            reference: t.referenced,
            primary: t.primaryRight / t.referenced,
            candidate: t.candidateRight / t.referenced,
          },
        }
      : {}),
  };
}

export class AgreementStats {
  private readonly all = emptyTally();
  private readonly languages = new Map<string, Tally>();
  private readonly pairs = new Map<string, number>();
  private maxDiff = 0;

  constructor(readonly labels: readonly string[]) {}

  /** One text tagged by both models; `lang` is bounded here; `reference` is a known label, if any. */
  add(lang: string | undefined, primary: Scored, candidate: Scored, reference?: string): void {
    const agreed = primary.label === candidate.label ? 1 : 0;
    let sum = 0;
    for (const label of this.labels) {
      const diff = Math.abs((primary.scores[label] ?? 0) - (candidate.scores[label] ?? 0));
      sum += diff;
      if (diff > this.maxDiff) this.maxDiff = diff;
    }
    const diff = this.labels.length === 0 ? 0 : sum / this.labels.length;
    const bounded = metricLanguage(lang);
    let tally = this.languages.get(bounded);
    if (!tally) {
      tally = emptyTally();
      this.languages.set(bounded, tally);
    }
    for (const t of [this.all, tally]) {
      t.compared++;
      t.agreed += agreed;
      t.scoreDiff += diff;
      if (reference !== undefined) {
        t.referenced++;
        if (primary.label === reference) t.primaryRight++;
        if (candidate.label === reference) t.candidateRight++;
      }
    }
    const pair = `${primary.label}\u0000${candidate.label}`;
    this.pairs.set(pair, (this.pairs.get(pair) ?? 0) + 1);
  }

  get compared(): number {
    return this.all.compared;
  }

  /** Per label pair, for the metrics. */
  pairCounts(): Array<{ primary: string; candidate: string; count: number }> {
    return [...this.pairs].map(([key, count]) => {
      const [primary = "", candidate = ""] = key.split("\u0000");
      return { primary, candidate, count };
    });
  }

  report(): AgreementReport {
    const labels = [...this.labels];
    for (const { primary, candidate } of this.pairCounts()) {
      for (const label of [primary, candidate]) if (!labels.includes(label)) labels.push(label);
    }
    const confusion: Record<string, Record<string, number>> = {};
    for (const p of labels) {
      confusion[p] = {};
      for (const c of labels) (confusion[p] as Record<string, number>)[c] = this.pairs.get(`${p}\u0000${c}`) ?? 0;
    }
    return {
      ...tallyReport(this.all),
      maxAbsScoreDiff: this.maxDiff,
      byLanguage: [...this.languages]
        .map(([lang, t]) => ({ lang, ...tallyReport(t) }))
        .sort((a, b) => b.compared - a.compared || a.lang.localeCompare(b.lang)),
      labels,
      confusion,
    };
  }
}

const percent = (x: number) => `${(100 * x).toFixed(2)}%`;

/** The report as people read it: overall, per language, the confusion matrix. */
export function formatReport(report: AgreementReport, names: { primary: string; candidate: string }): string {
  const lines: string[] = [];
  lines.push(`primary:   ${names.primary}`);
  lines.push(`candidate: ${names.candidate}`);
  lines.push(
    `agreement: ${percent(report.agreement)} (${report.agreed} of ${report.compared} texts, argmax); ` +
      `mean |score difference| ${report.meanAbsScoreDiff.toFixed(4)}, max ${report.maxAbsScoreDiff.toFixed(4)}`,
  );
  if (report.accuracy) {
    lines.push(
      `against the input's labels (${report.accuracy.reference} texts): primary ${percent(report.accuracy.primary)}, ` +
        `candidate ${percent(report.accuracy.candidate)}`,
    );
  }
  lines.push("");
  // With reference labels, each model's accuracy per language too (of the texts that had one).
  const referenced = report.accuracy !== undefined;
  lines.push(
    `lang    texts  agreement  mean |score diff|${referenced ? "  labelled  primary acc  candidate acc" : ""}`,
  );
  for (const l of report.byLanguage) {
    const accuracy = !referenced
      ? ""
      : l.accuracy
        ? `  ${String(l.accuracy.reference).padStart(8)}  ${percent(l.accuracy.primary).padStart(11)}  ${percent(l.accuracy.candidate).padStart(13)}`
        : `  ${"0".padStart(8)}  ${"-".padStart(11)}  ${"-".padStart(13)}`;
    lines.push(
      `${l.lang.padEnd(6)} ${String(l.compared).padStart(6)}  ${percent(l.agreement).padStart(9)}  ${l.meanAbsScoreDiff.toFixed(4).padStart(17)}${accuracy}`,
    );
  }
  lines.push("");
  const width = Math.max(9, ...report.labels.map((l) => l.length + 1));
  lines.push(`primary → candidate`);
  lines.push(`${"".padEnd(width)}${report.labels.map((l) => l.padStart(width)).join("")}`);
  for (const p of report.labels) {
    const row = report.labels.map((c) => String(report.confusion[p]?.[c] ?? 0).padStart(width)).join("");
    lines.push(`${p.padEnd(width)}${row}`);
  }
  return lines.join("\n");
}
