/**
 * Traces (docs/contract.md §11): one trace from the REST request through the BullMQ job to each
 * verification stage, the API and the worker in this process over real Redis and PostgreSQL, the
 * spans kept by an in-memory exporter.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, JOB_NAMES, loadConfig, QUEUE_NAMES, startTracing, type Tracing } from '@dbconn/shared';
import { createDeliverWebhookProcessor, type RunningWorker, startWorker } from '@dbconn/worker';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, http, startApi } from '../harness.js';
import { LOCAL_PG, PATH, waitForStatus } from './helpers.js';

const CANARY = `canary-trace-${process.pid}-password`;

describe('traces (API and worker in one process, in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  let h: Harness;
  let worker: RunningWorker;
  let webhookWorker: RunningWorker;
  const deliveries: string[] = [];
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      deliveries.push(String(req.headers['webhook-id']));
      res.end();
    });
  });
  const workerLogs: string[] = [];

  beforeAll(async () => {
    // Before the API and the worker are built: their queues take the telemetry then.
    tracing = await startTracing(loadConfig({ NODE_ENV: 'test' }).tracing, {
      defaultServiceName: 'dbconn-test',
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    h = await startApi();
    const config = loadConfig(h.env);
    worker = await startWorker({
      config,
      log: createLogger(
        { level: 'info', name: 'worker-test' },
        { write: (line: string) => void workerLogs.push(line) },
      ),
      store: h.store,
    });
    const silent = createLogger({ level: 'silent', name: 'webhooks-test' });
    webhookWorker = await startWorker({
      config,
      log: silent,
      store: h.store,
      queue: QUEUE_NAMES.webhooks,
      concurrency: 1,
      handlers: {
        [JOB_NAMES.deliverWebhook]: createDeliverWebhookProcessor({
          store: h.store,
          keyring: { keys: config.secrets.keys },
          config,
          log: silent,
        }),
      },
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await worker?.close();
    await webhookWorker?.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await h?.close();
    await tracing?.shutdown();
  });

  it('follows a create from the request through the job to every stage, with no secret in any span', async () => {
    const created = await http(h, 'POST', PATH, {
      body: { ...LOCAL_PG, password: CANARY, configName: `traces-${process.pid}`, ssl: { mode: 'disable' } },
      headers: { 'x-product-name': 'traces' },
    });
    expect(created.status).toBe(201);
    await waitForStatus(h, created.body.id);

    const byName = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
    await expect.poll(() => byName('verify schema').length, { timeout: 10_000 }).toBe(1);
    const [request] = byName('POST /v1/management/connections');
    expect(request?.kind).toBe(SpanKind.SERVER);
    expect(request?.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/management/connections',
      'http.response.status_code': 201,
      'dbconn.organization_id': 'default',
    });
    const traceId = request?.spanContext().traceId;
    const trace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const one = (name: string) => {
      const found = trace.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0] as ReadableSpan;
    };
    const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
    const add = one('add verify.verify-connection');
    const job = one('process verify');
    expect(add.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(add)).toBe(request?.spanContext().spanId);
    expect(job.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(job)).toBe(add.spanContext().spanId);
    expect(job.attributes).toMatchObject({
      'dbconn.connection_id': created.body.id,
      'dbconn.engine': 'POSTGRESQL',
      'dbconn.reason': 'created',
      'dbconn.outcome': 'active',
    });
    const stages = ['dns', 'tcp', 'tls', 'auth', 'database', 'schema'].map((stage) => one(`verify ${stage}`));
    for (const stage of stages) {
      expect(parentOf(stage)).toBe(job.spanContext().spanId);
      expect(stage.attributes['dbconn.engine']).toBe('POSTGRESQL');
    }
    expect(stages.map((s) => `${s.attributes['dbconn.stage']}:${s.attributes['dbconn.outcome']}`)).toEqual([
      'dns:ok',
      'tcp:ok',
      'tls:skipped',
      'auth:ok',
      'database:ok',
      'schema:ok',
    ]);

    // Log lines written inside the request and inside the job name that trace.
    const traced = (lines: string[]) => lines.map((l) => JSON.parse(l)).filter((l) => l.trace_id === traceId);
    expect(traced(h.logs).length).toBeGreaterThan(0);
    expect(traced(workerLogs).map((l) => l.msg)).toContain('connection verified');

    const everything = JSON.stringify(
      exporter.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })),
    );
    expect(everything).toContain(created.body.id);
    expect(everything).not.toContain(CANARY);
  });

  it('names a tRPC call by its procedure, inside the request span, with the organization', async () => {
    exporter.reset();
    const input = encodeURIComponent(JSON.stringify({ id: '00000000-0000-7000-8000-000000000000' }));
    const res = await fetch(`${h.url}/trpc/connections.get?input=${input}`);
    expect(res.status).toBe(404);
    await expect.poll(() => exporter.getFinishedSpans().length).toBeGreaterThanOrEqual(2);
    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.kind === SpanKind.SERVER);
    const procedure = spans.find((s) => s.name === 'connections.get');
    expect(request?.name).toBe('GET /trpc/:path');
    expect(request?.attributes['http.response.status_code']).toBe(404);
    expect(procedure?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(procedure?.attributes).toMatchObject({
      'rpc.system': 'trpc',
      'dbconn.organization_id': 'default',
      'dbconn.code': 'NOT_FOUND',
    });
    // The route pattern names the span, never the URL with its input.
    expect(JSON.stringify(spans.map((s) => [s.name, s.attributes]))).not.toContain('input=');
  });

  it('carries an update through its webhook delivery: the delivery job is in the trace of the PATCH request', async () => {
    const { port } = receiver.address() as AddressInfo;
    const hook = await http(h, 'POST', '/v1/management/webhooks', {
      body: { url: `http://127.0.0.1:${port}/hook`, events: ['connection.updated'] },
    });
    expect(hook.status).toBe(201);
    const created = await http(h, 'POST', PATH, {
      body: { ...LOCAL_PG, configName: `traces-hook-${process.pid}`, ssl: { mode: 'disable' } },
      headers: { 'x-product-name': 'traces' },
    });
    exporter.reset();
    const patched = await http(h, 'PATCH', `${PATH}/${created.body.id}`, {
      body: { metadata: { team: 'x' } },
    });
    expect(patched.status).toBe(200);
    await expect.poll(() => deliveries.length, { timeout: 15_000 }).toBe(1);
    await expect
      .poll(() => exporter.getFinishedSpans().filter((s) => s.name === 'process webhooks').length)
      .toBe(1);
    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === 'PATCH /v1/management/connections/:id');
    const delivery = spans.find((s) => s.name === 'process webhooks');
    expect(delivery?.spanContext().traceId).toBe(request?.spanContext().traceId);
    expect(delivery?.attributes).toMatchObject({
      'dbconn.webhook_event': 'connection.updated',
      'dbconn.outcome': 'delivered',
      'http.response.status_code': 200,
    });
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain(hook.body.secret);
  });
});
