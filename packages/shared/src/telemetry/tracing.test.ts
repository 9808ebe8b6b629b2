import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { inSpan, queueTelemetry, startTracing, type Tracing, traceFields } from './tracing.js';

const configOf = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env }).tracing;

describe('tracing configuration', () => {
  it('sends to <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces, or to the traces endpoint as given', () => {
    expect(configOf({}).endpoint).toBeUndefined();
    expect(configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).endpoint).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      configOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
      }).endpoint,
    ).toBe('https://traces.example/otlp');
    expect(
      configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).endpoint,
    ).toBeUndefined();
    expect(configOf({ OTEL_SERVICE_NAME: 'reports-dbconn' }).serviceName).toBe('reports-dbconn');
  });

  it('reads OTEL_TRACES_SAMPLER and its argument as OpenTelemetry names them', () => {
    expect(configOf({}).sampler).toEqual({ parentBased: true, ratio: 1 });
    expect(
      configOf({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).sampler,
    ).toEqual({ parentBased: true, ratio: 0.25 });
    expect(configOf({ OTEL_TRACES_SAMPLER: 'traceidratio' }).sampler).toEqual({
      parentBased: false,
      ratio: 1,
    });
    expect(configOf({ OTEL_TRACES_SAMPLER: 'always_off' }).sampler).toEqual({ parentBased: false, ratio: 0 });
    expect(configOf({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }).sampler).toEqual({
      parentBased: true,
      ratio: 0,
    });
    expect(() => configOf({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => configOf({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });

  it('names a bad endpoint or flag', () => {
    expect(() => configOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(() => configOf({ OTEL_SDK_DISABLED: 'yes' })).toThrow(/OTEL_SDK_DISABLED/);
  });
});

describe('startTracing', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  /** Whether the global tracer records: false exactly when no SDK is registered. */
  const isRecording = () => {
    const span = trace.getTracer('probe').startSpan('probe', { kind: SpanKind.SERVER });
    const recording = span.isRecording();
    span.end();
    return recording;
  };

  it('without an endpoint (or with OTEL_SDK_DISABLED) registers nothing: spans are no-ops', async () => {
    const unset: Record<string, string> = {};
    const disabled = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' };
    for (const env of [unset, disabled]) {
      tracing = await startTracing(configOf(env), { defaultServiceName: 'dbconn-test' });
      expect(tracing).toBeUndefined();
      expect(isRecording()).toBe(false);
      expect(queueTelemetry()).toBeUndefined();
      await inSpan('work', { kind: SpanKind.SERVER }, async () => expect(traceFields()).toEqual({}));
    }
  });

  it('with an endpoint registers the SDK and exports over OTLP/HTTP; after shutdown, nothing is registered', async () => {
    const received: { path: string | undefined; body: string }[] = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString('latin1');
      });
      req.on('end', () => {
        received.push({ path: req.url, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = collector.address() as AddressInfo;
      tracing = await startTracing(
        configOf({
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_SERVICE_NAME: 'dbconn-otlp',
        }),
        { defaultServiceName: 'dbconn-test' },
      );
      expect(isRecording()).toBe(true);
      expect(queueTelemetry()).toBeDefined();
      await inSpan('GET /v1/management/connections', { kind: SpanKind.SERVER }, async () => undefined);
      // Shutting down sends what the batch still holds.
      await tracing?.shutdown();
      tracing = undefined;
      expect(received.map((r) => r.path)).toEqual(['/v1/traces']);
      expect(received[0]?.body).toContain('GET /v1/management/connections');
      expect(received[0]?.body).toContain('dbconn-otlp');
      expect(isRecording()).toBe(false);
      expect(queueTelemetry()).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  });

  it('puts the active span in log lines and names the service; drops housekeeping root spans', async () => {
    const exporter = new InMemorySpanExporter();
    tracing = await startTracing(configOf({}), {
      defaultServiceName: 'dbconn-test',
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const lines: string[] = [];
    const log = createLogger(
      { level: 'info', name: 'test' },
      { write: (line: string) => void lines.push(line) },
    );
    log.info({ connectionId: 'c-1' }, 'outside');
    await inSpan('request', { kind: SpanKind.SERVER }, async () => {
      await inSpan('stage', {}, async () => log.info({ connectionId: 'c-1' }, 'inside'));
    });
    await inSpan('getNextJob verify', { kind: SpanKind.INTERNAL }, async () => log.info('housekeeping'));

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['stage', 'request']);
    const [stage, request] = spans;
    expect(stage?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(request?.resource.attributes['service.name']).toBe('dbconn-test');
    const [outside, inside, housekeeping] = lines.map((line) => JSON.parse(line));
    expect(outside).toMatchObject({ connectionId: 'c-1', msg: 'outside' });
    expect(outside.trace_id).toBeUndefined();
    expect(inside).toMatchObject({
      connectionId: 'c-1',
      trace_id: request?.spanContext().traceId,
      span_id: stage?.spanContext().spanId,
    });
    expect(housekeeping.trace_id).toBeUndefined();
  });

  it('keeps the share of new traces OTEL_TRACES_SAMPLER asks for; parentbased follows a caller', async () => {
    const remoteParent = (sampled: boolean) =>
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: true,
      });
    const recorded = (parent = ROOT_CONTEXT) => {
      const span = trace.getTracer('probe').startSpan('request', { kind: SpanKind.SERVER }, parent);
      const recording = span.isRecording();
      span.end();
      return recording;
    };
    const started = (env: Record<string, string>) =>
      startTracing(configOf(env), {
        defaultServiceName: 'dbconn-test',
        spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
      });

    tracing = await started({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' });
    expect(recorded()).toBe(false);
    expect(recorded(remoteParent(true))).toBe(true);
    await tracing?.shutdown();

    tracing = await started({ OTEL_TRACES_SAMPLER: 'always_off' });
    expect(recorded(remoteParent(true))).toBe(false);
    await tracing?.shutdown();

    // A quarter of new traces: about 250 of 1,000 (the trace id decides; 1,000 draws, wide bounds).
    tracing = await started({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' });
    const kept = Array.from({ length: 1000 }, () => recorded()).filter(Boolean).length;
    expect(kept).toBeGreaterThan(150);
    expect(kept).toBeLessThan(350);

    await tracing?.shutdown();
    tracing = await started({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    expect(recorded()).toBe(false);
    expect(recorded(remoteParent(true))).toBe(true);
    expect(recorded(remoteParent(false))).toBe(false);
  });
});
