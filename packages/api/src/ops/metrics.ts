import { type Queue, registerQueueGauges } from '@dbconn/shared';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { CONNECTIONS_PATH } from '../rest/connections.rest.js';

/** The route label of a request that matched no route (never the raw URL: it may carry ids). */
const UNMATCHED_ROUTE = '(unmatched)';
/** Where the tRPC adapter is mounted; its one route carries the procedure names in `:path`. */
const TRPC_ROUTE = '/trpc/:path';

export interface MetricsOptions {
  /** Queues whose depth and age are read from Redis at each scrape. */
  queues: Queue[];
  log: FastifyBaseLogger;
}

/**
 * `/metrics` in Prometheus text format, from a registry of this server's own (several servers in
 * one process, as in the tests, must not share one). Labels are route patterns, methods, status
 * codes, queue names and states: never free text, ids or secrets.
 */
export function registerMetrics(app: FastifyInstance, { queues, log }: MetricsOptions): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route pattern, method and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const connectionsCreated = new Counter({
    name: 'dbconn_connections_created_total',
    help: 'Connections created, by door (rest: 201 answers; trpc: successful connections.create calls)',
    labelNames: ['door'] as const,
    registers: [registry],
  });
  // Zero from the start, so rate() and increase() see the first create.
  connectionsCreated.inc({ door: 'rest' }, 0);
  connectionsCreated.inc({ door: 'trpc' }, 0);

  registerQueueGauges(registry, { queues, log });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? UNMATCHED_ROUTE;
    requestDuration.observe(
      { method: req.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const created = createdBy(req, route, reply.statusCode);
    if (created) connectionsCreated.inc({ door: created.door }, created.count);
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });

  return registry;
}

/**
 * How many connections a finished request created. A tRPC batch (`a,b,c`) answers 200 only when
 * every call in it succeeded; a mixed batch (207) is not counted, as its body is streamed.
 */
function createdBy(
  req: FastifyRequest,
  route: string,
  status: number,
): { door: 'rest' | 'trpc'; count: number } | undefined {
  if (req.method !== 'POST') return undefined;
  if (route === CONNECTIONS_PATH && status === 201) return { door: 'rest', count: 1 };
  if (route === TRPC_ROUTE && status === 200) {
    const path = (req.params as { path?: unknown }).path;
    const count =
      typeof path === 'string' ? path.split(',').filter((p) => p === 'connections.create').length : 0;
    return count > 0 ? { door: 'trpc', count } : undefined;
  }
  return undefined;
}
