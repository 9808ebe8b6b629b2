import type { Queue } from '@dbconn/shared';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { CONNECTIONS_PATH } from '../rest/connections.rest.js';

/**
 * Queue states reported per queue. `prioritized` is where BullMQ keeps waiting jobs that carry a
 * priority; it is reported on its own so `waiting` keeps BullMQ's meaning.
 */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/** How long a scrape waits for the queue numbers before it answers without them (as the worker's). */
export const QUEUE_READ_TIMEOUT_MS = 2_000;

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

  new Gauge({
    name: 'dbconn_queue_jobs',
    help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      try {
        const counts = await withTimeout(
          Promise.all(queues.map((q) => q.getJobCounts(...QUEUE_STATES))),
          'queue counts',
        );
        this.reset();
        queues.forEach((queue, i) => {
          for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[i]?.[state] ?? 0);
        });
      } catch (err) {
        // No numbers rather than stale ones; /metrics itself still answers.
        this.reset();
        log.warn({ err }, 'metrics: could not read queue counts');
      }
    },
  });
  new Gauge({
    name: 'dbconn_queue_oldest_waiting_age_seconds',
    help: 'How long the oldest waiting job of each BullMQ queue has been ready to run (0 when none waits)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      try {
        // asc = true: the wait list's far end, i.e. the job that has waited longest.
        const oldest = await withTimeout(
          Promise.all(queues.map((q) => q.getJobs(['waiting'], 0, 0, true))),
          'oldest waiting jobs',
        );
        this.reset();
        const now = Date.now();
        queues.forEach((queue, i) => {
          const job = oldest[i]?.[0];
          this.set({ queue: queue.name }, job ? Math.max(0, now - readySince(job)) / 1000 : 0);
        });
      } catch (err) {
        this.reset();
        log.warn({ err }, 'metrics: could not read the oldest waiting jobs');
      }
    },
  });

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

/**
 * When a waiting job became ready to run, with the worker's meaning of the same gauge: a delayed
 * job from the end of its delay (BullMQ resets a promoted job's `delay`, so it is read from
 * `opts`), a retried one from its last attempt.
 */
function readySince(job: { timestamp: number; processedOn?: number | undefined; opts: { delay?: number } }) {
  return Math.max(job.timestamp + (job.opts.delay ?? 0), job.processedOn ?? 0);
}

/** BullMQ waits for a Redis that is down instead of failing: a scrape must still answer. */
async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer within ${QUEUE_READ_TIMEOUT_MS} ms`)),
      QUEUE_READ_TIMEOUT_MS,
    );
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
