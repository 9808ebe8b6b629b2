import {
  context,
  isSpanContextValid,
  propagation,
  SamplingDecision,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { BullMQOtel } from 'bullmq-otel';
import type { TracingConfig } from '../config.js';

/**
 * OpenTelemetry traces (docs/contract.md §11): a span per request, per job (BullMQ's own telemetry,
 * which carries the W3C trace context in the job's options) and per verification stage.
 *
 * Everything here goes through `@opentelemetry/api`. Until `startTracing` registers an SDK, that API
 * is its no-op implementation: spans are never recorded, nothing is exported, and the SDK itself is
 * not even loaded. Attributes name engines, stages, codes, ids and routes: never a host's password,
 * a connection string or a token.
 */

/**
 * The tracer of the service's own spans (requests, procedures, stages); BullMQ's come from its own.
 * Asked for at each use, not kept: a tracer taken before an SDK is registered (or after one is shut
 * down) would stay bound to the registry of that moment.
 */
export const tracer = () => trace.getTracer('dbconn');

/** Attribute names of the service's spans, beside OpenTelemetry's semantic conventions. */
export const SPAN_ATTRIBUTES = {
  organizationId: 'dbconn.organization_id',
  connectionId: 'dbconn.connection_id',
  requestId: 'dbconn.request_id',
  engine: 'dbconn.engine',
  stage: 'dbconn.stage',
  code: 'dbconn.code',
  outcome: 'dbconn.outcome',
  reason: 'dbconn.reason',
} as const;

export interface Tracing {
  /** Exports what is still buffered, then unregisters the SDK (the API is the no-op one again). */
  shutdown(): Promise<void>;
}

let running: { telemetry: BullMQOtel } | undefined;

/** Whether an SDK is registered by startTracing: spans are recorded and exported. */
export const isTracing = (): boolean => running !== undefined;

/**
 * BullMQ's telemetry for a Queue or Worker while tracing runs: a job added inside a span carries
 * that span's context, and the job's `process` span is its child. Undefined otherwise, so BullMQ
 * takes its untraced path.
 */
export const queueTelemetry = (): BullMQOtel | undefined => running?.telemetry;

/** `{ telemetry }` for a Queue's or Worker's options while tracing runs; nothing otherwise. */
export const telemetryOption = (): { telemetry?: BullMQOtel } =>
  running ? { telemetry: running.telemetry } : {};

/**
 * A trace begins where work comes in: a request (SERVER), a job enqueued (PRODUCER) or taken
 * (CONSUMER). BullMQ's housekeeping — polling for the next job, the stalled-job check — makes root
 * spans of kind INTERNAL every few seconds per worker; they would bury the traces that matter, so
 * a root span of that kind is dropped. Children follow their parent's decision (ParentBased).
 */
function workComesIn(ratio: Sampler): Sampler {
  return {
    shouldSample: (context, traceId, name, kind, attributes, links) =>
      kind === SpanKind.INTERNAL
        ? { decision: SamplingDecision.NOT_RECORD }
        : ratio.shouldSample(context, traceId, name, kind, attributes, links),
    toString: () => `WorkComesInSampler{${ratio.toString()}}`,
  };
}

/**
 * Starts the tracing SDK when the configuration names an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT
 * or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, not OTEL_SDK_DISABLED), or when the caller gives its own
 * span processors (tests: an in-memory exporter). Otherwise returns undefined and loads nothing.
 * Call it before creating queues and workers: they read `queueTelemetry()` when built.
 */
export async function startTracing(
  config: TracingConfig,
  options: { defaultServiceName: string; spanProcessors?: SpanProcessor[] },
): Promise<Tracing | undefined> {
  if (running) throw new Error('tracing is already started in this process');
  if (config.endpoint === undefined && options.spanProcessors === undefined) return undefined;
  const [sdk, { W3CTraceContextPropagator }, { resourceFromAttributes }, { ATTR_SERVICE_NAME }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/semantic-conventions'),
    ]);
  const spanProcessors = options.spanProcessors ?? [
    new sdk.BatchSpanProcessor(
      // Headers, timeout and compression: the exporter reads OTEL_EXPORTER_OTLP_* itself.
      new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({
        url: config.endpoint,
      }),
    ),
  ];
  const provider = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config.serviceName ?? options.defaultServiceName,
    }),
    // OTEL_TRACES_SAMPLER(_ARG): the ratio decides which new traces are kept; with `parentbased_`
    // a caller's traceparent decides for its own trace (the SDK's reading of the variables, which
    // a sampler given here would otherwise override).
    sampler: (() => {
      const root = workComesIn(new sdk.TraceIdRatioBasedSampler(config.sampler.ratio));
      return config.sampler.parentBased ? new sdk.ParentBasedSampler({ root }) : root;
    })(),
    spanProcessors,
  });
  // Trace context only: a `baggage` header from a caller would otherwise be copied into every job.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  running = { telemetry: new BullMQOtel({ tracerName: 'bullmq' }) };
  return {
    shutdown: async () => {
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
        running = undefined;
      }
    },
  };
}

/**
 * Runs `work` in a new active span (a child of the active one): logs written and jobs enqueued
 * inside it belong to it. The span ends with the work; a throw marks it as an error, without the
 * error's message (it could quote input).
 */
export function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean> },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * The active span's ids as log fields (`trace_id`, `span_id`): the logger's mixin, so every line
 * written inside a request or a job names its trace. Nothing when no span is active, or when its
 * trace is not sampled (an id no collector will ever hold).
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  // A new object each time: pino merges the line's own fields into what the mixin returns.
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const ids = span.spanContext();
  return isSpanContextValid(ids) && (ids.traceFlags & TraceFlags.SAMPLED) !== 0
    ? { trace_id: ids.traceId, span_id: ids.spanId }
    : {};
}

export { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
