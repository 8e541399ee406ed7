/**
 * The one configuration schema. Defaults and descriptions live here and nowhere else: the types
 * come from `z.infer`, the environment variables and flags are derived from the field paths, and
 * the README's configuration reference is generated from this file (`npm run docs`).
 *
 * Field metadata beyond zod's own: `env` lists extra environment variable names accepted for the
 * field (besides the derived `SW_...` one); `secret` marks values that `config` prints redacted.
 */
import { z } from "zod";
import { DETECT_LANGUAGE_MODES } from "../language/languages.js";
import { hubUrlProblem, repoIdProblem, revisionProblem } from "./hub-names.js";
import { isLoopback } from "./loopback.js";

/**
 * The most headers a record may be allowed (`input.maxHeaders`): the Kafka record decoder keeps at
 * most this many of a record's headers and only counts the rest (src/kafka/record-decoder.ts).
 */
export const HEADERS_KEPT = 10_000;

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();

/** A string check whose reason, when the value is unusable, comes from `problem`. */
function checkedBy(problem: (value: string) => string | undefined) {
  return (value: string, ctx: z.RefinementCtx<string>) => {
    const reason = problem(value);
    if (reason !== undefined) ctx.addIssue({ code: "custom", message: reason });
  };
}
/** A hub repo id, a hub revision, a SHA-256: also what the admin endpoints accept (rollout/model-spec.ts). */
export const repoId = z.string().min(1).superRefine(checkedBy(repoIdProblem));
export const revision = z.string().min(1).superRefine(checkedBy(revisionProblem));
export const sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, "expected the 64 hex digits of a SHA-256, as `sha256sum` prints them");

const kafkaSsl = z
  .strictObject({
    enabled: z.boolean().default(false).describe("Connect to the brokers over TLS."),
    caFile: z.string().optional().describe("PEM file with the CA certificates to trust (default: the system's)."),
    certFile: z.string().optional().describe("PEM client certificate for mutual TLS."),
    keyFile: z.string().optional().meta({ secret: true }).describe("PEM private key of the client certificate."),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe("Verify the brokers' certificates; turn off only for a test cluster."),
  })
  .prefault({});

const kafkaSasl = z
  .strictObject({
    mechanism: z
      .enum(["none", "plain", "scram-sha-256", "scram-sha-512"])
      .default("none")
      .describe("SASL mechanism; `none` disables SASL."),
    username: z.string().optional().describe("SASL user name."),
    password: z.string().optional().meta({ secret: true }).describe("SASL password."),
  })
  .prefault({});

const kafka = z
  .strictObject({
    brokers: z
      .array(z.string().regex(/^[^\s:]+:\d+$/, "expected host:port"))
      .default([])
      .meta({ env: ["KAFKA_BROKERS"] })
      .describe("Bootstrap brokers as host:port, comma-separated in the environment."),
    clientId: z.string().min(1).default("sentiment-worker").describe("Client id sent to the brokers (quotas, logs)."),
    groupId: z.string().min(1).default("sentiment-worker").describe("Consumer group of the live worker."),
    inputTopics: z.array(z.string().min(1)).default([]).describe("Topics to consume (names)."),
    inputPattern: z
      .string()
      .optional()
      .describe("Regular expression of topics to consume, instead of or besides `inputTopics`."),
    outputTopic: z.string().min(1).default("sentiment.v1").describe("Topic that receives the `sentiment.v1` events."),
    deadLetterTopic: z
      .string()
      .min(1)
      .default("sentiment.dead-letter")
      .describe("Topic that receives records that cannot be processed, with the reason in headers."),
    delivery: z
      .enum(["exactly-once", "at-least-once"])
      .default("exactly-once")
      .describe("Delivery mode: a transaction per batch with the offsets, or commit after acknowledgement."),
    createTopics: z
      .boolean()
      .default(false)
      .describe("Create missing output and dead-letter topics at start-up; off, a missing topic stops start-up."),
    sessionTimeoutMs: z
      .number()
      .int()
      .min(6_000, "must be at least 6000: brokers refuse a join below group.min.session.timeout.ms (6000 by default)")
      .max(
        1_800_000,
        "must be at most 1800000: brokers refuse a join above group.max.session.timeout.ms (1800000 by default)",
      )
      .default(30_000)
      .describe("Consumer group session timeout; the broker's group.min/max.session.timeout.ms bound it."),
    rebalanceTimeoutMs: positiveInt
      .default(60_000)
      .describe("How long the group waits for this member to rejoin during a rebalance before removing it."),
    drainTimeoutMs: positiveInt
      .default(15_000)
      .describe(
        "After a stop (SIGTERM) or a rebalance begins, how long batches in flight may still run before they are abandoned uncommitted and read again later; below `rebalanceTimeoutMs`.",
      ),
    heartbeatIntervalMs: positiveInt
      .default(3_000)
      .describe("Consumer heartbeat interval; must be below the session timeout."),
    chunksInFlight: z
      .number()
      .int()
      .min(1)
      .max(2)
      .default(2)
      .describe(
        "Chunks of one partition worked on at once. Two: the next chunk is decoded, claimed and inferred while the one before it commits (commits stay in offset order; the next is abandoned, its claims released, when the one before is not committed), so the model does not idle while partitions commit. 1: one chunk at a time (docs/delivery.md, Two chunks in flight).",
      ),
    transactionTimeoutMs: positiveInt.default(60_000).describe("Producer transaction timeout (exactly-once mode)."),
    ssl: kafkaSsl,
    sasl: kafkaSasl,
  })
  .prefault({});

/** Formats whose records are in Confluent's wire format, decoded through `input.schemaRegistry`. */
export const REGISTRY_FORMATS = ["avro", "protobuf", "json-schema"] as const;

const schemaRegistry = z
  .strictObject({
    url: z
      .string()
      .url()
      .optional()
      .meta({ env: ["SCHEMA_REGISTRY_URL"], secret: "url" })
      .describe(
        "Base URL of the schema registry's Confluent API (Confluent Schema Registry, Redpanda, Apicurio's `/apis/ccompat/v7`, Karapace), for `input.format` avro, protobuf and json-schema.",
      ),
    username: z.string().optional().describe("User name for HTTP basic authentication (with `password`)."),
    password: z.string().optional().meta({ secret: true }).describe("Password for HTTP basic authentication."),
    token: z
      .string()
      .optional()
      .meta({ secret: true })
      .describe("Bearer token (`Authorization: Bearer <token>`), instead of basic authentication."),
    caFile: z
      .string()
      .optional()
      .describe("PEM file with the CA certificates to trust for https (default: the system's)."),
    certFile: z.string().optional().describe("PEM client certificate for mutual TLS."),
    keyFile: z.string().optional().meta({ secret: true }).describe("PEM private key of the client certificate."),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe("Verify the registry's certificate; turn off only for a test registry."),
    timeoutMs: positiveInt
      .default(10_000)
      .describe("How long one request to the registry may take before it counts as unreachable."),
  })
  .prefault({});

const input = z
  .strictObject({
    source: z
      .enum(["file", "kafka"])
      .default("file")
      .describe("Where `run` reads from: a JSONL file or stdin (no broker), or Kafka."),
    path: z.string().default("-").describe("Input file for the `file` source; `-` is stdin."),
    format: z
      .enum(["json", "text", ...REGISTRY_FORMATS])
      .default("json")
      .describe(
        "Record values are JSON objects, plain UTF-8 text, or Avro, Protobuf or JSON Schema records in Confluent's wire format, decoded with their schemas from `input.schemaRegistry` (docs/events.md).",
      ),
    schemaRegistry,
    idField: z
      .string()
      .min(1)
      .default("id")
      .describe("Dotted path of the message id in a JSON value (or decoded Avro, Protobuf record)."),
    textField: z
      .string()
      .min(1)
      .default("text")
      .describe("Dotted path of the text in a JSON value (or decoded Avro, Protobuf record)."),
    langField: z
      .string()
      .min(1)
      .default("lang")
      .describe(
        "Dotted path of an optional language code in a JSON value, copied into the event when it has a language tag's shape (`pt-BR`, at most 35 characters); any other value is ignored and counted (`sw_input_lang_ignored_total`).",
      ),
    detectLanguage: z
      .enum(DETECT_LANGUAGE_MODES)
      .default("missing")
      .describe(
        "Language identification of the text: `missing` when the input has no `langField`; `always` (the event's `lang` is the detected one, the input's value goes to `langInput`); `off` (only the input's value, as given). See docs/language.md.",
      ),
    idFromKey: z
      .boolean()
      .default(false)
      .describe("Take the message id from the record key; with no id at all, a hash of the text is used."),
    passthrough: z
      .boolean()
      .default(false)
      .describe("Copy the input JSON object (or the decoded Avro, Protobuf record) into the event's `input` field."),
    maxTextBytes: positiveInt
      .default(65_536)
      .describe(
        "Texts longer than this many UTF-8 bytes go to the dead letters (TOO_LARGE). From a file or stdin it also bounds a line: 6 × this + 64 KiB, at least 1 MiB (docs/events.md).",
      ),
    maxIdBytes: z
      .number()
      .int()
      .min(16)
      .max(4096)
      .default(512)
      .describe(
        "Ids longer than this many UTF-8 bytes are replaced by `sha256:` and the 64 hex digits of their SHA-256, so a hostile id cannot fill Redis.",
      ),
    maxHeaders: z
      .number()
      .int()
      .min(1)
      .max(HEADERS_KEPT)
      .default(1000)
      .describe(
        `Kafka records with more headers than this go to the dead letters (TOO_MANY_HEADERS), without their headers. Producers send a handful (trace context, content type, schema ids): the default leaves a wide margin and bounds what one record costs to read and what its dead letter carries. At most ${HEADERS_KEPT.toLocaleString("en-US")}, the most the record decoder keeps.`,
      ),
  })
  .prefault({});

const output = z
  .strictObject({
    format: z
      .enum(["json", "avro"])
      .default("json")
      .describe(
        "Events as JSON, or as Avro in Confluent's wire format (Kafka only): the schema, generated from `sentiment.v1`, registered in `input.schemaRegistry` under the output topic's `-value` subject with compatibility BACKWARD (docs/events.md).",
      ),
    path: z.string().default("-").describe("Output file of the `file` source's events; `-` is stdout."),
    deadLetterPath: z
      .string()
      .default("")
      .describe("File for the `file` source's dead letters (JSON lines); empty writes them to stderr."),
  })
  .prefault({});

const dedup = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe("Skip messages whose id was already tagged by the same model revision."),
    redisUrl: z
      .string()
      .url()
      .default("redis://127.0.0.1:6379")
      .meta({ env: ["REDIS_URL"], secret: "url" })
      .describe("Redis for de-duplication with the `kafka` source (the `file` source de-duplicates in memory)."),
    keyPrefix: z
      .string()
      .default("sw:seen:")
      .describe("Prefix of the de-duplication keys (then model revision and message id)."),
    ttlSeconds: positiveInt.default(7 * 24 * 3600).describe("How long an id is remembered."),
    onRedisUnavailable: z
      .enum(["fail", "bypass"])
      .default("fail")
      .describe("`fail` pauses consumption until Redis answers; `bypass` goes on without de-duplication."),
    memoryMaxBytes: positiveInt
      .default(64 * 1024 * 1024)
      .describe(
        "Most bytes of ids the `file` source remembers in memory for de-duplication; the oldest are forgotten first.",
      ),
    resultCache: z
      .boolean()
      .default(false)
      .describe("Reuse the result of an identical normalised text seen within the TTL instead of running the model."),
  })
  .prefault({});

/** How a model directory is used: see `model.kind`. */
export const modelKind = z.enum(["auto", "classifier", "zero-shot"]);

const zeroShot = z
  .strictObject({
    hypothesisTemplate: z
      .string()
      .refine((t) => t.includes("{}"), "must contain {} where the label goes")
      .default("The sentiment of this text is {}.")
      .describe(
        "The hypothesis a zero-shot model is asked for each candidate label, `{}` replaced by the label (the default is the question the student's teacher was asked).",
      ),
    candidateLabels: z
      .array(z.string().min(1))
      .min(2)
      .refine((l) => new Set(l).size === l.length, "no label twice")
      .default(["positive", "neutral", "negative"])
      .describe(
        "The labels a zero-shot model chooses from; its scores are the entailment logits of their hypotheses, softmaxed across them. Comma-separated in the environment.",
      ),
  })
  .prefault({});

const model = z
  .strictObject({
    id: repoId
      .default("Xenova/distilbert-base-multilingual-cased-sentiments-student")
      .describe(
        "Hugging Face repo id (`org/name`, checked as the hub checks it) of an ONNX export, fetched once into `cacheDir` (the default is the ONNX export of lxyuan/distilbert-base-multilingual-cased-sentiments-student).",
      ),
    revision: revision
      .default("main")
      .describe(
        "Hub revision (branch, tag or commit sha, checked by git's rules for names); part of the de-duplication key.",
      ),
    dir: z.string().optional().describe("Local model directory; when set, the hub is not used."),
    cacheDir: z.string().default(".cache/sentiment-worker/models").describe("Where hub downloads are kept."),
    variant: z
      .enum(["fp32", "int8"])
      .default("fp32")
      .describe("Which ONNX file to run: `model.onnx` or the int8 `model_quantized.onnx`."),
    hubUrl: z
      .string()
      .url()
      .superRefine(checkedBy(hubUrlProblem))
      .default("https://huggingface.co")
      .meta({ secret: "url" })
      .describe(
        "Base URL of the model hub (or a mirror), http or https, without credentials (a token goes in `HF_TOKEN`, which is sent only over https or to a loopback address).",
      ),
    sha256: sha256Hex
      .optional()
      .describe(
        "SHA-256 the variant's ONNX file must have, wherever it comes from (download, cache or `dir`), checked at every start; a download whose hub gives no digest of its own is accepted only with it. See docs/model.md.",
      ),
    offline: z.boolean().default(false).describe("Never contact the hub; use the cache or `dir` only."),
    maxLength: positiveInt
      .max(512)
      .default(512)
      .describe("Tokens per text, longer texts are truncated (flagged in the event)."),
    kind: modelKind
      .default("auto")
      .describe(
        "What the model is: `classifier` (one text in, a score per label of config.json), `zero-shot` (an NLI model asked one hypothesis per candidate label, as transformers' zero-shot pipeline; the teacher, for `compare` and shadow mode only), or `auto`: zero-shot when config.json's id2label has an entailment label. See docs/rollout.md.",
      ),
    zeroShot: zeroShot,
  })
  .prefault({});

const batching = z
  .strictObject({
    maxBatchSize: positiveInt.default(16).describe("Most messages in one inference batch (hundreds on a GPU)."),
    maxBatchTokens: positiveInt
      .default(2048)
      .describe("Most padded tokens (longest item x count) in one batch; at least `model.maxLength`."),
    maxWaitMs: z.number().int().min(0).default(5).describe("Longest a message waits for its batch to fill."),
    queueCapacity: positiveInt.default(2048).describe("Messages queued for inference before consumption pauses."),
    minFillRatio: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        "Least (shortest ÷ longest text) in one batch, so padding costs a text at most 1/ratio of its length. 0 fills batches as the size and token limits allow: for a GPU, where the count of batches matters more than padding.",
      ),
    chunkTargetMs: positiveInt
      .default(1000)
      .describe(
        "How long one chunk of a partition's records (one Redis claim, one transaction) should take; its size follows, between 16 and 8,192 records. Larger: fewer transactions; smaller: a stop or rebalance finishes sooner. Below `kafka.drainTimeoutMs`.",
      ),
  })
  .prefault({});

const runtime = z
  .strictObject({
    executionProviders: z
      .array(z.enum(["cpu", "cuda", "dml", "coreml"]))
      .min(1)
      .default(["cpu"])
      .describe("ONNX Runtime execution providers, in order of preference."),
    intraOpThreads: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe("Threads inside one operator; 0 lets ONNX Runtime use every core."),
    interOpThreads: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe("Threads across operators; 1 suits a sequential graph like DistilBERT."),
    inferenceThreads: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe(
        "Inference threads, each with its own session of the model (and its own copy of it in memory), each batch to the one free (docs/model.md, Session). On 2 cores, 2 sessions of `intraOpThreads` 1 scored 1,024 texts at once (what `classify` does with a file) about 8% faster than 1 session of 2 threads.",
      ),
    processingThreads: z
      .number()
      .int()
      .min(0)
      .max(64)
      .optional()
      .describe(
        "Threads that decode records, encode texts and build events, so the main thread keeps only Kafka, Redis and the model's queue (docs/development.md, Threads). Unset: one fewer than the cores the process may use (a container's CPU limit counts), at least 1, at most 8; 0: all of it on the main thread.",
      ),
  })
  .prefault({});

const telemetry = z
  .strictObject({
    logLevel: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info")
      .describe("Level of the JSON logs on stderr."),
    httpPort: port.default(9464).describe("Port of `/metrics`, `/healthz` and `/readyz`; 0 disables the server."),
    otlpEndpoint: z
      .string()
      .url()
      .optional()
      .meta({ secret: "url" })
      .describe("OTLP/HTTP endpoint for traces and metrics; unset, nothing is exported."),
  })
  .prefault({});

const shadow = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Run a candidate model on a sample of the committed messages and measure its agreement with the primary (docs/rollout.md); it never delays or changes the primary's events.",
      ),
    dir: z.string().optional().describe("The candidate's local model directory (default: the primary's source)."),
    id: repoId.optional().describe("The candidate's hub repo id (default: `model.id`); ignores `model.dir`."),
    revision: revision
      .optional()
      .describe("The candidate's hub revision (default: `model.revision`); ignores `model.dir`."),
    variant: z
      .enum(["fp32", "int8"])
      .optional()
      .describe("The candidate's ONNX file (default: `model.variant`), e.g. `int8` to shadow the quantized model."),
    kind: modelKind
      .optional()
      .describe(
        "What the candidate is (default: `model.kind`, normally `auto`): `zero-shot` to shadow an NLI teacher such as an export of MoritzLaurer/mDeBERTa-v3-base-mnli-xnli (several times the student's cost: keep `samplePercent` low).",
      ),
    samplePercent: z
      .number()
      .min(0)
      .max(100)
      .default(100)
      .describe("Share of committed messages the candidate tags too, chosen by a hash of the message id (0-100)."),
    queueCapacity: positiveInt
      .default(1024)
      .describe(
        "Sampled messages waiting for the candidate; more are skipped and counted (`sw_shadow_skipped_total`).",
      ),
    intraOpThreads: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe("ONNX Runtime threads of the candidate (0: every core); few, so it takes little from the primary."),
    topic: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Topic for the candidate's `sentiment.v1` events (best effort, not transactional); unset, they are only counted.",
      ),
  })
  .prefault({});

const rollout = z
  .strictObject({
    shadow,
    summaryIntervalMs: z
      .number()
      .int()
      .min(0)
      .default(60_000)
      .describe("How often the shadow's agreement summary is logged; 0 never."),
    adminPort: port
      .default(0)
      .describe(
        "Port of the admin endpoints (`/model`, `/shadow`: switch or shadow a model while running); 0 disables them.",
      ),
    adminHost: z
      .string()
      .min(1)
      .default("127.0.0.1")
      .describe(
        "Address the admin endpoints listen on; loopback by default, as they change the model in use. Any other address needs rollout.adminToken.",
      ),
    adminToken: z
      .string()
      .min(16, "at least 16 characters")
      .regex(/^\S+$/, "no spaces: it is sent as `Bearer <token>`")
      .optional()
      .meta({ secret: true })
      .describe(
        "Bearer token every admin request must carry (`Authorization: Bearer <token>`); unset, none is asked for, which only a loopback rollout.adminHost allows.",
      ),
    adminAllowedHosts: z
      .array(
        z
          .string()
          .regex(
            /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])$/,
            "a host name or address without a port (IPv6 in brackets), e.g. sentiment-worker-admin.prod.svc",
          ),
      )
      .default([])
      .describe(
        "Host names the admin endpoints answer to (the request's Host header, any port), besides localhost, 127.0.0.1, [::1] and rollout.adminHost; others get 421, so a DNS-rebinding page (which sends its own name) changes nothing. Empty: only those without a token, any Host with rollout.adminToken (a page cannot send the token); set, it is checked with a token too.",
      ),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    kafka,
    input,
    output,
    dedup,
    model,
    batching,
    runtime,
    telemetry,
    rollout,
  })
  .superRefine((c, ctx) => {
    if (c.kafka.heartbeatIntervalMs >= c.kafka.sessionTimeoutMs) {
      ctx.addIssue({
        code: "custom",
        path: ["kafka", "heartbeatIntervalMs"],
        message: `must be below kafka.sessionTimeoutMs (${c.kafka.sessionTimeoutMs}); a third of it is usual`,
      });
    }
    if (c.kafka.drainTimeoutMs >= c.kafka.rebalanceTimeoutMs) {
      ctx.addIssue({
        code: "custom",
        path: ["kafka", "drainTimeoutMs"],
        message: `must be below kafka.rebalanceTimeoutMs (${c.kafka.rebalanceTimeoutMs}), or the group removes this member while it drains`,
      });
    }
    if (c.batching.chunkTargetMs >= c.kafka.drainTimeoutMs) {
      ctx.addIssue({
        code: "custom",
        path: ["batching", "chunkTargetMs"],
        message: `must be below kafka.drainTimeoutMs (${c.kafka.drainTimeoutMs}), or a stop or rebalance abandons chunks as a rule`,
      });
    }
    if (c.batching.maxBatchTokens < c.model.maxLength) {
      ctx.addIssue({
        code: "custom",
        path: ["batching", "maxBatchTokens"],
        message: `must be at least model.maxLength (${c.model.maxLength}) so the longest text fits a batch`,
      });
    }
    if (c.input.source === "kafka") {
      if (c.kafka.brokers.length === 0) {
        ctx.addIssue({ code: "custom", path: ["kafka", "brokers"], message: "required when input.source is kafka" });
      }
      if (c.kafka.inputTopics.length === 0 && c.kafka.inputPattern === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["kafka", "inputTopics"],
          message: "name at least one topic (or set kafka.inputPattern) when input.source is kafka",
        });
      }
    }
    if ((REGISTRY_FORMATS as readonly string[]).includes(c.input.format)) {
      if (c.input.source !== "kafka") {
        ctx.addIssue({
          code: "custom",
          path: ["input", "format"],
          message: `${c.input.format} needs input.source kafka (records in Confluent's wire format)`,
        });
      }
      if (c.input.schemaRegistry.url === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["input", "schemaRegistry", "url"],
          message: `required when input.format is ${c.input.format}`,
        });
      }
    }
    if (c.output.format === "avro") {
      if (c.input.source !== "kafka") {
        ctx.addIssue({ code: "custom", path: ["output", "format"], message: "avro needs input.source kafka" });
      }
      if (c.input.schemaRegistry.url === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["input", "schemaRegistry", "url"],
          message: "required when output.format is avro (the registry the event schema is registered in)",
        });
      }
    }
    const registry = c.input.schemaRegistry;
    if ((registry.username === undefined) !== (registry.password === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["input", "schemaRegistry", registry.username === undefined ? "username" : "password"],
        message: "basic authentication needs both username and password",
      });
    }
    if (registry.token !== undefined && registry.username !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["input", "schemaRegistry", "token"],
        message: "set a bearer token or a username and password, not both",
      });
    }
    // Credentials cross the network only encrypted, as HF_TOKEN does; a loopback registry is local.
    if (registry.url !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(registry.url);
      } catch {
        url = undefined;
      }
      const credentials =
        registry.token !== undefined || registry.username !== undefined || (url !== undefined && url.username !== "");
      if (url?.protocol === "http:" && credentials && !isLoopback(url.hostname)) {
        ctx.addIssue({
          code: "custom",
          path: ["input", "schemaRegistry", "url"],
          message: "credentials are sent only over https or to a loopback address: use an https:// URL",
        });
      }
    }
    if (c.kafka.sasl.mechanism !== "none" && (!c.kafka.sasl.username || !c.kafka.sasl.password)) {
      ctx.addIssue({
        code: "custom",
        path: ["kafka", "sasl"],
        message: `mechanism ${c.kafka.sasl.mechanism} needs both username and password`,
      });
    }
    if (c.rollout.adminPort !== 0 && c.rollout.adminToken === undefined && !isLoopback(c.rollout.adminHost)) {
      ctx.addIssue({
        code: "custom",
        path: ["rollout", "adminToken"],
        message: `required when rollout.adminHost (${c.rollout.adminHost}) is not a loopback address: the admin endpoints switch the model in use`,
      });
    }
    if (c.kafka.inputPattern !== undefined) {
      try {
        new RegExp(c.kafka.inputPattern);
      } catch (e) {
        ctx.addIssue({
          code: "custom",
          path: ["kafka", "inputPattern"],
          message: `not a regular expression: ${String(e)}`,
        });
      }
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
