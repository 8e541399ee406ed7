/**
 * The rollout's metrics, observed from its state at each scrape. Labels stay bounded: languages are
 * the model's 12, `other` and `und` (plus `all`), label pairs 3 × 3, one model per role. The shadow's
 * agreement carries `candidate_kind` (classifier or zero-shot), so a teacher's agreement (~88% by the
 * model card) and a variant's (~99%) get alerts of their own.
 */
import type { Meter } from "@opentelemetry/api";
import { LABELS, METRICS } from "../telemetry/index.js";
import type { ShadowRunner } from "./shadow.js";

export interface ObservedRollout {
  readonly switches: { switched: number; refused: number };
  readonly currentModel: { name: string; revision: string };
  readonly shadowRunner: ShadowRunner | undefined;
}

/** The shadow candidate's kind as a metric label. */
function kindOf(rollout: ObservedRollout): Record<string, string> {
  return { [LABELS.candidateKind]: rollout.shadowRunner?.candidate.kind ?? "classifier" };
}

export function observeRollout(meter: Meter, rollout: ObservedRollout): void {
  meter
    .createObservableGauge(METRICS.modelInfo, {
      description: "1 per model in use: role primary, or candidate (shadow).",
    })
    .addCallback((result) => {
      const primary = rollout.currentModel;
      result.observe(1, { [LABELS.role]: "primary", [LABELS.name]: primary.name, [LABELS.revision]: primary.revision });
      const candidate = rollout.shadowRunner?.candidate.model;
      if (candidate) {
        result.observe(1, {
          [LABELS.role]: "candidate",
          [LABELS.name]: candidate.name,
          [LABELS.revision]: candidate.revision,
        });
      }
    });
  meter
    .createObservableCounter(METRICS.modelSwitches, {
      description:
        "Model switches while running: switched, or refused (the new model did not load; the old one serves).",
    })
    .addCallback((result) => {
      result.observe(rollout.switches.switched, { [LABELS.outcome]: "switched" });
      result.observe(rollout.switches.refused, { [LABELS.outcome]: "refused" });
    });
  meter
    .createObservableGauge(METRICS.shadowAgreement, {
      description:
        "Share of shadowed messages on which the candidate's label is the primary's (argmax agreement), by language; lang=all overall.",
    })
    .addCallback((result) => {
      const report = rollout.shadowRunner?.stats.report();
      if (!report || report.compared === 0) return;
      const kind = kindOf(rollout);
      result.observe(report.agreement, { [LABELS.language]: "all", ...kind });
      for (const l of report.byLanguage) result.observe(l.agreement, { [LABELS.language]: l.lang, ...kind });
    });
  meter
    .createObservableGauge(METRICS.shadowScoreDiff, {
      description:
        "Mean absolute difference of the candidate's and the primary's scores, by language; lang=all overall.",
    })
    .addCallback((result) => {
      const report = rollout.shadowRunner?.stats.report();
      if (!report || report.compared === 0) return;
      const kind = kindOf(rollout);
      result.observe(report.meanAbsScoreDiff, { [LABELS.language]: "all", ...kind });
      for (const l of report.byLanguage) result.observe(l.meanAbsScoreDiff, { [LABELS.language]: l.lang, ...kind });
    });
  meter
    .createObservableCounter(METRICS.shadowCompared, {
      description: "Messages tagged by both the primary and the shadow candidate, by language.",
    })
    .addCallback((result) => {
      const report = rollout.shadowRunner?.stats.report();
      const kind = kindOf(rollout);
      for (const l of report?.byLanguage ?? []) result.observe(l.compared, { [LABELS.language]: l.lang, ...kind });
    });
  meter
    .createObservableCounter(METRICS.shadowAgreed, {
      description: "Shadowed messages on which the candidate's label is the primary's, by language.",
    })
    .addCallback((result) => {
      const report = rollout.shadowRunner?.stats.report();
      const kind = kindOf(rollout);
      for (const l of report?.byLanguage ?? []) result.observe(l.agreed, { [LABELS.language]: l.lang, ...kind });
    });
  meter
    .createObservableCounter(METRICS.shadowPairs, {
      description: "Shadowed messages by the primary's label and the candidate's (the confusion matrix).",
    })
    .addCallback((result) => {
      const kind = kindOf(rollout);
      for (const p of rollout.shadowRunner?.stats.pairCounts() ?? []) {
        result.observe(p.count, { [LABELS.primary]: p.primary, [LABELS.candidate]: p.candidate, ...kind });
      }
    });
  meter
    .createObservableCounter(METRICS.shadowSkipped, {
      description: "Sampled messages the candidate did not tag: queue_full (it fell behind), failed, stopped.",
    })
    .addCallback((result) => {
      const runner = rollout.shadowRunner;
      if (!runner) return;
      for (const [reason, n] of Object.entries(runner.skipped)) result.observe(n, { [LABELS.reason]: reason });
    });
}
