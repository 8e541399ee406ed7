/**
 * Safe model rollout while the worker runs: shadow a candidate model on a sample of the committed
 * traffic and measure its agreement with the primary; switch the primary without a restart; roll
 * back. One operation at a time (a second one while a model loads is refused as busy).
 *
 * A switch loads the new model (and the de-duplication of its revision) next to the old one; only
 * once it loaded and has the three sentiment labels does it become what new batches lease. Batches
 * in flight finish on the old model, which is closed after the last of them. A model that fails to
 * load changes nothing: the old one keeps serving, and the error is logged, counted
 * (`sw_model_switches_total{outcome="refused"}`) and returned. Readiness never drops.
 */

import type { Meter } from "@opentelemetry/api";
import type { Config } from "../config/index.js";
import { errorMessage } from "../errors/error-message.js";
import { type ModelIdentity, type SentimentEvent, sameLabels } from "../events/sentiment-event.js";
import type { SentimentClassifier } from "../inference/classifier.js";
import type { SwitchableModels } from "../inference/model-slot.js";
import type { TextClassifier } from "../inference/text-classifier.js";
import type { Logger } from "../telemetry/index.js";
import type { AgreementReport } from "./agreement.js";
import { type ModelSpec, modelConfigOf, specOf } from "./model-spec.js";
import { observeRollout } from "./rollout-metrics.js";
import { type ShadowItem, ShadowRunner } from "./shadow.js";

export interface RolloutParts<T extends { classifier: SentimentClassifier }> {
  config: Config;
  /** What the rollout needs of the Kafka job: the model slot and how to load into it. */
  models: SwitchableModels<T>;
  /** Loads a candidate for shadow mode (its own session, with `rollout.shadow.intraOpThreads`): a classifier or a zero-shot teacher. */
  loadCandidate(model: Config["model"]): Promise<TextClassifier>;
  /** Publishes candidate events to `rollout.shadow.topic` (set only when that topic is). */
  publishShadow?: (events: SentimentEvent[]) => Promise<void>;
  /** Disconnects what `publishShadow` connected (after the shadow stopped). */
  closeShadowTopic?: () => Promise<void>;
  logger: Logger;
  meter?: Meter;
}

export interface SwitchRecord {
  at: string;
  outcome: "switched" | "refused";
  spec: ModelSpec;
  model?: ModelIdentity;
  error?: string;
}

/** A switch or shadow start: the status after it, or why it was refused and what still serves. */
export type RolloutOutcome =
  | { ok: true; status: RolloutStatus }
  | { ok: false; busy?: boolean; error: string; serving: RolloutStatus["model"] };

export interface ShadowStatus {
  /** The report compares the candidate with this primary (it restarts from zero at a switch). */
  primary: ModelIdentity;
  /** `kind` zero-shot: an NLI teacher asked the model card's question (its agreement is the card's 88.29% figure). */
  candidate: ModelIdentity & { spec: ModelSpec; kind: TextClassifier["kind"] };
  samplePercent: number;
  queued: number;
  skipped: Record<string, number>;
  publishFailures: number;
  report: AgreementReport;
}

export interface RolloutStatus {
  model: ModelIdentity & { spec: ModelSpec };
  /** The spec `POST /model/rollback` loads. */
  previous?: ModelSpec;
  busy: boolean;
  /** Batches still running on replaced models. */
  retiringBatches: number;
  lastSwitch?: SwitchRecord;
  shadow?: ShadowStatus;
}

export class Rollout<T extends { classifier: SentimentClassifier }> {
  readonly switches = { switched: 0, refused: 0 };
  private spec: ModelSpec;
  private previous: ModelSpec | undefined;
  private lastSwitch: SwitchRecord | undefined;
  private shadow: { runner: ShadowRunner; spec: ModelSpec } | undefined;
  private busy = false;
  private closed = false;
  private readonly summaryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly parts: RolloutParts<T>) {
    this.spec = specOf(parts.config.model);
    if (parts.meter) observeRollout(parts.meter, this);
    const interval = parts.config.rollout.summaryIntervalMs;
    if (interval > 0) {
      this.summaryTimer = setInterval(() => this.logSummary(), interval);
      this.summaryTimer.unref();
    }
  }

  /** The shadow of `rollout.shadow` when enabled; a candidate that fails to load is logged, not fatal. */
  async start(): Promise<void> {
    const { shadow } = this.parts.config.rollout;
    if (!shadow.enabled) return;
    const spec: ModelSpec = {
      ...(shadow.dir !== undefined ? { dir: shadow.dir } : {}),
      ...(shadow.id !== undefined ? { id: shadow.id } : {}),
      ...(shadow.revision !== undefined ? { revision: shadow.revision } : {}),
      ...(shadow.variant !== undefined ? { variant: shadow.variant } : {}),
      ...(shadow.kind !== undefined ? { kind: shadow.kind } : {}),
    };
    await this.startShadow(spec, shadow.samplePercent);
  }

  get currentModel(): ModelIdentity {
    const { name, revision } = this.parts.models.slot.current.classifier.model;
    return { name, revision };
  }

  get shadowRunner(): ShadowRunner | undefined {
    return this.shadow?.runner;
  }

  status(): RolloutStatus {
    const shadow = this.shadow;
    return {
      model: { ...this.currentModel, spec: this.spec },
      ...(this.previous ? { previous: this.previous } : {}),
      busy: this.busy,
      retiringBatches: this.parts.models.slot.retiringLeases,
      ...(this.lastSwitch ? { lastSwitch: this.lastSwitch } : {}),
      ...(shadow
        ? {
            shadow: {
              primary: this.currentModel,
              candidate: {
                name: shadow.runner.candidate.model.name,
                revision: shadow.runner.candidate.model.revision,
                spec: shadow.spec,
                kind: shadow.runner.candidate.kind,
              },
              samplePercent: shadow.runner.samplePercent,
              queued: shadow.runner.queued,
              skipped: { ...shadow.runner.skipped },
              publishFailures: shadow.runner.publishFailures,
              report: shadow.runner.stats.report(),
            },
          }
        : {}),
    };
  }

  /** Where committed messages go while a shadow runs (the pipeline's `onCommitted`); undefined otherwise. */
  get offer(): ((items: readonly ShadowItem[]) => void) | undefined {
    const runner = this.shadow?.runner;
    return runner ? (items) => runner.offer(items) : undefined;
  }

  /** Replaces the primary model; in-flight batches finish on the old one. */
  switchModel(spec: ModelSpec): Promise<RolloutOutcome> {
    return this.exclusive(async () => {
      const { models, config, logger } = this.parts;
      const from = this.currentModel;
      let loaded: T;
      try {
        loaded = await models.load(modelConfigOf(config.model, spec));
      } catch (error) {
        this.switches.refused++;
        this.lastSwitch = { at: new Date().toISOString(), outcome: "refused", spec, error: errorMessage(error) };
        logger.error(
          { err: error, spec, serving: from },
          "model switch refused: the new model did not load; the old one keeps serving",
        );
        return this.refused(error);
      }
      if (this.closed || models.slot.isClosed) {
        // The worker began stopping while the model loaded: it must not outlive the worker.
        await models.slot.dispose(loaded);
        return this.refused("the worker is stopping");
      }
      const to = { name: loaded.classifier.model.name, revision: loaded.classifier.model.revision };
      const { whenRetired } = models.slot.replace(loaded);
      if (this.shadow) {
        this.logSummary(this.shadow.runner, from);
        this.shadow.runner.comparingWith(to.revision);
      }
      this.previous = this.spec;
      this.spec = spec;
      this.switches.switched++;
      this.lastSwitch = { at: new Date().toISOString(), outcome: "switched", spec, model: to };
      logger.info({ from, to, spec }, "model switched: new batches use the new model");
      void whenRetired.then(() => logger.info({ model: from }, "the replaced model finished its batches and closed"));
      return this.done();
    });
  }

  /** Switches back to the model served before the last switch. */
  rollback(): Promise<RolloutOutcome> {
    if (!this.previous) {
      return Promise.resolve({ ...this.refused("no earlier model to roll back to"), serving: this.status().model });
    }
    return this.switchModel(this.previous);
  }

  /** Starts (or replaces) the shadow with a candidate model; its agreement counts start from zero. */
  startShadow(spec: ModelSpec, samplePercent: number): Promise<RolloutOutcome> {
    return this.exclusive(async () => {
      const { config, logger } = this.parts;
      let candidate: TextClassifier;
      try {
        candidate = await this.parts.loadCandidate(modelConfigOf(config.model, spec));
        const labels = candidate.model.labels;
        const primary = this.parts.models.slot.current.classifier.model.labels;
        if (!sameLabels(labels, primary)) {
          await candidate.close();
          throw new Error(
            `the candidate's labels (${labels.join(", ")}) are not the primary's (${primary.join(", ")})`,
          );
        }
      } catch (error) {
        logger.error({ err: error, spec }, "shadow not started: the candidate model did not load");
        return this.refused(error);
      }
      if (this.closed) {
        await candidate.close();
        return this.refused("the worker is stopping");
      }
      await this.shadow?.runner.stop();
      const runner = new ShadowRunner(candidate, {
        samplePercent,
        queueCapacity: config.rollout.shadow.queueCapacity,
        ...(this.parts.publishShadow ? { publish: this.parts.publishShadow } : {}),
        log: (msg, fields) => logger.warn(fields ?? {}, msg),
      });
      runner.comparingWith(this.currentModel.revision);
      this.shadow = { runner, spec };
      logger.info(
        {
          candidate: candidate.model.name,
          revision: candidate.model.revision,
          kind: candidate.kind,
          samplePercent,
          spec,
        },
        "shadow started",
      );
      return this.done();
    });
  }

  async stopShadow(): Promise<RolloutStatus> {
    const shadow = this.shadow;
    this.shadow = undefined;
    if (shadow) {
      this.logSummary(shadow.runner);
      await shadow.runner.stop();
      this.parts.logger.info("shadow stopped");
    }
    return this.status();
  }

  /** The periodic summary line: the shadow's agreement overall, per language and per label pair. */
  logSummary(runner = this.shadow?.runner, primary = this.currentModel): void {
    if (!runner || runner.stats.compared === 0) return;
    const report = runner.stats.report();
    this.parts.logger.info(
      {
        candidate: {
          name: runner.candidate.model.name,
          revision: runner.candidate.model.revision,
          kind: runner.candidate.kind,
        },
        primary,
        compared: report.compared,
        agreement: round(report.agreement),
        meanAbsScoreDiff: round(report.meanAbsScoreDiff),
        byLanguage: Object.fromEntries(report.byLanguage.map((l) => [l.lang, round(l.agreement)])),
        confusion: report.confusion,
        skipped: runner.skipped,
      },
      "shadow agreement",
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.summaryTimer) clearInterval(this.summaryTimer);
    await this.stopShadow();
    await this.parts.closeShadowTopic?.();
  }

  private done(): { ok: true } {
    return { ok: true };
  }

  private refused(error: unknown): { ok: false; error: string } {
    return { ok: false, error: errorMessage(error) };
  }

  private async exclusive(work: () => Promise<{ ok: true } | { ok: false; error: string }>): Promise<RolloutOutcome> {
    if (this.closed) return { ok: false, error: "the worker is stopping", serving: this.status().model };
    if (this.busy) {
      return {
        ok: false,
        busy: true,
        error: "another model is loading; try again when it is done",
        serving: this.status().model,
      };
    }
    this.busy = true;
    let outcome: { ok: true } | { ok: false; error: string };
    try {
      outcome = await work();
    } finally {
      this.busy = false;
    }
    return outcome.ok ? { ok: true, status: this.status() } : { ...outcome, serving: this.status().model };
  }
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;
