/**
 * Traces: one span per partition chunk with `consume`, `dedup`, `infer` and `produce` children,
 * linked to every message's incoming W3C `traceparent` (a chunk has many parents, so links, not a
 * parent). Exported over OTLP/HTTP when an endpoint is configured; otherwise the API's global
 * tracer, a no-op unless the embedding program registered its own provider.
 */
import {
  type Context,
  context,
  type Link,
  type Span,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import type { Resource } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { ATTRIBUTES, SPANS } from "./names.js";

type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
type Headers = Record<string, HeaderValue> | undefined;

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier ?? {}),
  get: (carrier, key) => {
    const value = carrier?.[key];
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.map(String) : String(value);
  },
};

const w3c = new W3CTraceContextPropagator();

/** The span context a record's headers carry, if any (for a link). */
export function linkFromHeaders(headers: Headers): Link | undefined {
  if (!headers?.traceparent) return undefined;
  const spanContext = trace.getSpanContext(w3c.extract(context.active(), headers, headerGetter));
  return spanContext && trace.isSpanContextValid(spanContext) ? { context: spanContext } : undefined;
}

export class WorkerTracing {
  readonly tracer: Tracer;
  private readonly provider: TracerProvider | undefined;

  constructor(options: { resource: Resource; otlpEndpoint?: string | undefined; version: string }) {
    if (options.otlpEndpoint) {
      this.provider = new TracerProvider({
        resource: options.resource,
        spanProcessors: [
          new BatchSpanProcessor({
            exporter: new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, "")}/v1/traces` }),
            scheduledDelayMillis: 1000,
          }),
        ],
      });
      this.tracer = this.provider.getTracer("sentiment-worker", options.version);
    } else {
      this.tracer = trace.getTracer("sentiment-worker", options.version);
    }
  }

  /** Starts the span of one partition chunk. */
  chunk(topic: string, partition: number, messages: { headers?: Headers }[]): ChunkTrace {
    const links = messages.flatMap((m) => {
      const link = linkFromHeaders(m.headers);
      return link ? [link] : [];
    });
    const span = this.tracer.startSpan(SPANS.chunk, {
      links,
      attributes: {
        [ATTRIBUTES.system]: "kafka",
        [ATTRIBUTES.topic]: topic,
        [ATTRIBUTES.partition]: String(partition),
        [ATTRIBUTES.messageCount]: messages.length,
      },
    });
    return new ChunkTrace(this.tracer, span);
  }

  /** Sends what is buffered and stops (spans of the last chunks are not lost on SIGTERM). */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

export class ChunkTrace {
  private readonly context: Context;

  constructor(
    private readonly tracer: Tracer,
    readonly span: Span,
  ) {
    this.context = trace.setSpan(context.active(), span);
  }

  /** Runs one stage of the chunk as a child span. */
  async stage<T>(name: string, work: () => Promise<T> | T): Promise<T> {
    const child = this.tracer.startSpan(name, {}, this.context);
    try {
      return await work();
    } catch (error) {
      child.recordException(error as Error);
      child.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      child.end();
    }
  }

  end(outcome: string, error?: unknown): void {
    this.span.setAttribute(ATTRIBUTES.outcome, outcome);
    if (error !== undefined) {
      this.span.recordException(error as Error);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error).message ?? error) });
    }
    this.span.end();
  }
}
