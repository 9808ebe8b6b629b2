import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError, type Queue, registerQueueGauges } from '@dbconn/shared';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Door } from '../context.js';
import { sendProblem } from '../rest/problem.js';

/** The route label of a request that matched no route (never the raw URL: it may carry ids). */
const UNMATCHED_ROUTE = '(unmatched)';

export interface ApiMetrics {
  registry: Registry;
  /** Counts one stored connection (the service calls it: every door, every batch shape). */
  recordCreated(door: Door): void;
}

/**
 * The API's registry and its own series. Each server gets its own registry (several servers in one
 * process, as in the tests, must not share one).
 */
export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const connectionsCreated = new Counter({
    name: 'dbconn_connections_created_total',
    help: 'Connections created, by door (rest or trpc)',
    labelNames: ['door'] as const,
    registers: [registry],
  });
  // Zero from the start, so rate() and increase() see the first create.
  connectionsCreated.inc({ door: 'rest' }, 0);
  connectionsCreated.inc({ door: 'trpc' }, 0);
  return { registry, recordCreated: (door) => connectionsCreated.inc({ door }) };
}

export interface MetricsOptions {
  /** Queues whose depth and age are read from Redis at each scrape. */
  queues: Queue[];
  log: FastifyBaseLogger;
  /** When set, a scrape must send `Authorization: Bearer <token>` (METRICS_TOKEN). */
  token?: string | undefined;
}

/**
 * `/metrics` in Prometheus text format: the request-duration histogram (timed by a hook on every
 * request) and the queue gauges join the API's registry. Labels are route patterns, methods,
 * status codes, queue names and states: never free text, ids or secrets.
 */
export function registerMetrics(
  app: FastifyInstance,
  { registry }: ApiMetrics,
  { queues, log, token }: MetricsOptions,
): void {
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route pattern, method and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  registerQueueGauges(registry, { queues, log });

  app.addHook('onResponse', async (req, reply) => {
    requestDuration.observe(
      {
        method: req.method,
        route: req.routeOptions.url ?? UNMATCHED_ROUTE,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/metrics', async (req, reply) => {
    if (token !== undefined && !hasBearerToken(req.headers.authorization, token)) {
      return sendProblem(
        reply,
        new AppError('UNAUTHENTICATED', 'Send Authorization: Bearer <METRICS_TOKEN>', {
          headers: { 'www-authenticate': 'Bearer realm="metrics"' },
        }),
      );
    }
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** `Bearer <expected>`, compared in constant time (digests have one length, so nothing leaks through it). */
function hasBearerToken(header: string | undefined, expected: string): boolean {
  const given = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(expected)) && given !== '';
}
