/**
 * The worker's metrics on the OpenTelemetry SDK: a Prometheus reader (served by our own HTTP
 * server, not the exporter's) and an OTLP reader when an endpoint is configured. Counters are
 * observed from the run's counters (`RunCounts`), so the metrics equal what the summary says by
 * construction: they count what was committed, not what was merely read.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Attributes, Meter, ObservableResult } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import type { Resource } from "@opentelemetry/resources";
import { type IMetricReader, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import type { BatchStats } from "../inference/batcher.js";
import { isSupportedLanguage } from "../language/languages.js";
import { LABELS, METRICS } from "./names.js";

/** What the metrics read of a run's counters (the pipeline's RunCounters has this shape). */
export interface RunCounts {
  readonly records: number;
  readonly events: number;
  readonly duplicates: number;
  readonly tombstones: number;
  readonly cacheHits: number;
  readonly inputLangIgnored: number;
  readonly deadLetters: Readonly<Partial<Record<string, number>>>;
  /** Events by bounded language and label; their counts sum to `events`. */
  readonly eventsByKind: ReadonlyMap<string, { readonly lang: string; readonly label: string; readonly count: number }>;
}

/** What the metrics read of a de-duplicator's counters (RedisDeduplicator's `counters` has this shape). */
export interface DedupCounts {
  readonly bypassedIds: number;
}

/** Latency buckets in seconds, from a fast batch to a stalled one. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const RATIO_BUCKETS = [1, 1.05, 1.1, 1.25, 1.5, 2, 3, 5];
/** Queue wait buckets in seconds: from a batch cut at once to a queue backed up behind a slow model. */
const QUEUE_WAIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface MetricsOptions {
  resource: Resource;
  /** OTLP/HTTP base URL; metrics go to `<url>/v1/metrics`. */
  otlpEndpoint?: string | undefined;
  otlpIntervalMs?: number;
}

export class WorkerMetrics {
  private readonly provider: MeterProvider;
  private readonly prometheus: PrometheusExporter;
  /** For instruments of other parts that observe their own state (model rollout). */
  readonly meter: Meter;
  private readonly lags = new Map<string, { attributes: Attributes; lag: number }>();
  private readonly counterSets = new Set<RunCounts>();
  /** Each de-duplicator's bypass counts, kept after it closed (a model switch) so the counter never goes back. */
  private readonly dedupCounters = new Set<DedupCounts>();
  private readiness: () => Record<string, boolean> = () => ({});
  private readonly batchSize;
  private readonly paddedRatio;
  private readonly batchCuts;
  private readonly queueWait;
  /** Items waiting for inference after the last cut (the batcher reports at each cut). */
  private queued = 0;
  private readonly inferenceTime;
  private readonly latency;

  constructor(options: MetricsOptions) {
    this.prometheus = new PrometheusExporter({ preventServerStart: true });
    const readers: IMetricReader[] = [this.prometheus];
    if (options.otlpEndpoint) {
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `${options.otlpEndpoint.replace(/\/$/, "")}/v1/metrics` }),
          exportIntervalMillis: options.otlpIntervalMs ?? 15_000,
        }),
      );
    }
    this.provider = new MeterProvider({ resource: options.resource, readers });
    const meter = this.provider.getMeter("sentiment-worker");
    this.meter = meter;
    this.batchSize = meter.createHistogram(METRICS.batchSize, {
      description: "Messages per inference batch.",
      advice: { explicitBucketBoundaries: BATCH_SIZE_BUCKETS },
    });
    this.paddedRatio = meter.createHistogram(METRICS.paddedTokenRatio, {
      description: "Padded tokens over real tokens per inference batch (1 = no padding).",
      advice: { explicitBucketBoundaries: RATIO_BUCKETS },
    });
    this.batchCuts = meter.createCounter(METRICS.batchCuts, {
      description:
        "Inference batches cut, by why: size, tokens (full), wait (the oldest waited batching.maxWaitMs), close.",
    });
    this.queueWait = meter.createHistogram(METRICS.queueWait, {
      description: "Time each message waited in the inference queue before its batch was cut.",
      unit: "s",
      advice: { explicitBucketBoundaries: QUEUE_WAIT_BUCKETS },
    });
    meter
      .createObservableGauge(METRICS.queueDepth, {
        description: "Messages waiting in the inference queue, as of the last batch cut.",
      })
      .addCallback((result) => result.observe(this.queued));
    this.inferenceTime = meter.createHistogram(METRICS.inferenceTime, {
      description: "Time ONNX Runtime took for one inference batch.",
      unit: "s",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    });
    this.latency = meter.createHistogram(METRICS.latency, {
      description: "From the input record's timestamp to its output being committed.",
      unit: "s",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    });
    this.observeCounters();
    meter
      .createObservableGauge(METRICS.lag, { description: "Records behind the partition's high watermark." })
      .addCallback((result) => {
        for (const { attributes, lag } of this.lags.values()) result.observe(lag, attributes);
      });
    meter
      .createObservableGauge(METRICS.ready, { description: "1 while /readyz answers ready." })
      .addCallback((result) => {
        const checks = Object.values(this.readiness());
        result.observe(checks.length > 0 && checks.every(Boolean) ? 1 : 0);
      });
    // Each check apart, so an alert can say which failed (Redis down in `fail` mode: check="redis").
    meter
      .createObservableGauge(METRICS.readyCheck, {
        description: "1 while the named readiness check (model, consumer, redis) passes; sw.ready is 1 when all do.",
      })
      .addCallback((result) => {
        for (const [check, ok] of Object.entries(this.readiness()))
          result.observe(ok ? 1 : 0, { [LABELS.check]: check });
      });
  }

  /** The counters of a run (a worker, a replay) to report; several add up. */
  track(counters: RunCounts): void {
    this.counterSets.add(counters);
  }

  /** A de-duplicator's counts to report (`sw.dedup.bypassed`); several add up. */
  trackDedup(counters: DedupCounts): void {
    this.dedupCounters.add(counters);
  }

  /** The named readiness checks (what `/readyz` shows): `sw.ready` is 1 when all pass. */
  setReadiness(readiness: () => Record<string, boolean>): void {
    this.readiness = readiness;
  }

  recordBatch(stats: BatchStats): void {
    this.batchSize.record(stats.size);
    if (stats.realTokens > 0) this.paddedRatio.record(stats.paddedTokens / stats.realTokens);
    this.batchCuts.add(1, { [LABELS.reason]: stats.reason });
    for (const ms of stats.queueWaitsMs) this.queueWait.record(Math.max(0, ms) / 1000);
    this.queued = stats.queued;
  }

  recordInference(ms: number): void {
    this.inferenceTime.record(ms / 1000);
  }

  recordLatency(ms: number): void {
    this.latency.record(Math.max(0, ms) / 1000);
  }

  setLag(topic: string, partition: number, lag: number): void {
    this.lags.set(`${topic}:${partition}`, {
      attributes: { [LABELS.topic]: topic, [LABELS.partition]: String(partition) },
      lag,
    });
  }

  /** A revoked partition's lag is another member's business now. */
  forgetLag(topic: string, partition: number): void {
    this.lags.delete(`${topic}:${partition}`);
  }

  /** Serves the Prometheus text format. */
  serve(request: IncomingMessage, response: ServerResponse): void {
    this.prometheus.getMetricsRequestHandler(request, response);
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }

  /**
   * Events by language (one of the model's 12, `other`, `und`: at most 14 × 3 series) and label, so
   * a dashboard shows the sentiment mix per language; and by whether the model supports the language.
   */
  private observeEventsByLanguage(): void {
    const byKind = () => {
      const totals = new Map<string, { lang: string; label: string; count: number }>();
      for (const c of this.counterSets) {
        for (const [key, kind] of c.eventsByKind) {
          const total = totals.get(key);
          if (total) total.count += kind.count;
          else totals.set(key, { ...kind });
        }
      }
      return totals.values();
    };
    this.meter
      .createObservableCounter(METRICS.events, {
        description: "sentiment.v1 events committed to the output topic, by language and label.",
      })
      .addCallback((result: ObservableResult) => {
        for (const k of byKind()) result.observe(k.count, { [LABELS.language]: k.lang, [LABELS.label]: k.label });
      });
    this.meter
      .createObservableCounter(METRICS.languageSupport, {
        description: "sentiment.v1 events committed, by whether their language is one of the model's 12.",
      })
      .addCallback((result: ObservableResult) => {
        let yes = 0;
        let no = 0;
        for (const k of byKind()) {
          if (isSupportedLanguage(k.lang)) yes += k.count;
          else no += k.count;
        }
        result.observe(yes, { [LABELS.supported]: "true" });
        result.observe(no, { [LABELS.supported]: "false" });
      });
  }

  private observeCounters(): void {
    const sum = (pick: (c: RunCounts) => number) => {
      let total = 0;
      for (const c of this.counterSets) total += pick(c);
      return total;
    };
    const counter = (name: string, description: string, pick: (c: RunCounts) => number) =>
      this.meter.createObservableCounter(name, { description }).addCallback((r) => r.observe(sum(pick)));
    counter(METRICS.records, "Input records processed and committed (events, dead letters, skips).", (c) => c.records);
    counter(METRICS.duplicates, "Messages skipped because Redis had already seen their id.", (c) => c.duplicates);
    this.meter
      .createObservableCounter(METRICS.dedupBypassed, {
        description:
          "Message ids claimed without de-duplication because Redis was unavailable (dedup.onRedisUnavailable bypass): they may be tagged twice.",
      })
      .addCallback((result) => {
        let total = 0;
        for (const c of this.dedupCounters) total += c.bypassedIds;
        result.observe(total);
      });
    counter(METRICS.tombstones, "Tombstones (null values) skipped.", (c) => c.tombstones);
    counter(METRICS.cacheHits, "Messages answered from the result cache without inference.", (c) => c.cacheHits);
    counter(
      METRICS.inputLangIgnored,
      "Records whose language field was not a language tag (too long, control characters...): ignored, detection decided.",
      (c) => c.inputLangIgnored,
    );
    this.observeEventsByLanguage();
    this.meter
      .createObservableCounter(METRICS.deadLetters, { description: "Dead letters committed, by code." })
      .addCallback((result: ObservableResult) => {
        const byCode = new Map<string, number>();
        for (const c of this.counterSets) {
          for (const [code, n] of Object.entries(c.deadLetters)) byCode.set(code, (byCode.get(code) ?? 0) + (n ?? 0));
        }
        for (const [code, n] of byCode) result.observe(n, { [LABELS.deadLetterCode]: code });
      });
  }
}
