/**
 * Metric, span and attribute names, written once (BullMQ-style constants). Metric names follow the
 * OpenTelemetry style; the Prometheus endpoint shows them with `_` for `.` and `_total` on counters.
 */
export const METRICS = {
  records: "sw.records",
  events: "sw.events",
  languageSupport: "sw.events.language_supported",
  deadLetters: "sw.dead_letters",
  duplicates: "sw.dedup.hits",
  dedupBypassed: "sw.dedup.bypassed",
  tombstones: "sw.tombstones",
  cacheHits: "sw.result_cache.hits",
  inputLangIgnored: "sw.input.lang_ignored",
  batchSize: "sw.batch.size",
  paddedTokenRatio: "sw.batch.padded_token_ratio",
  batchCuts: "sw.batch.cuts",
  queueWait: "sw.inference.queue_wait_seconds",
  queueDepth: "sw.inference.queue_depth",
  inferenceTime: "sw.inference.duration_seconds",
  latency: "sw.end_to_end.latency_seconds",
  lag: "sw.consumer.lag",
  ready: "sw.ready",
  readyCheck: "sw.ready.check",
  modelInfo: "sw.model.info",
  modelSwitches: "sw.model.switches",
  shadowAgreement: "sw.shadow.agreement.ratio",
  shadowCompared: "sw.shadow.agreement.compared",
  shadowAgreed: "sw.shadow.agreement.agreed",
  shadowPairs: "sw.shadow.agreement.pairs",
  shadowScoreDiff: "sw.shadow.agreement.score_diff",
  shadowSkipped: "sw.shadow.skipped",
} as const;

/** Metric labels (short, as Prometheus users write them). */
export const LABELS = {
  topic: "topic",
  partition: "partition",
  deadLetterCode: "code",
  language: "lang",
  label: "label",
  supported: "supported",
  primary: "primary",
  candidate: "candidate",
  /** The shadow candidate's kind: classifier, or zero-shot (the teacher; its agreement is judged against the card's 88.29%). */
  candidateKind: "candidate_kind",
  reason: "reason",
  outcome: "outcome",
  role: "role",
  name: "name",
  revision: "revision",
  check: "check",
} as const;

export const SPANS = {
  chunk: "sentiment-worker chunk",
  consume: "consume",
  dedup: "dedup",
  infer: "infer",
  produce: "produce",
} as const;

export const ATTRIBUTES = {
  topic: "messaging.destination.name",
  partition: "messaging.destination.partition.id",
  messageCount: "messaging.batch.message_count",
  system: "messaging.system",
  outcome: "sw.batch.outcome",
  events: "sw.batch.events",
  deadLetters: "sw.batch.dead_letters",
  duplicates: "sw.batch.duplicates",
} as const;
