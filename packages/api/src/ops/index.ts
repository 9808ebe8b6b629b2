import type { Config, Queue } from '@dbconn/shared';
import type { FastifyInstance } from 'fastify';
import { CONNECTIONS_PATH } from '../rest/connections.rest.js';
import type { RateLimiter } from '../services/rate-limiter.js';
import { DOCS_PATH, registerDocs } from './docs.js';
import { type ApiMetrics, registerMetrics } from './metrics.js';
import { buildOpenApiDocument, toOpenApiPath } from './openapi.js';
import { DASHBOARD_PATH, registerQueueDashboard } from './queue-dashboard.js';

export interface OpsDeps {
  config: Pick<Config, 'env' | 'admin' | 'rateLimit' | 'metricsToken'>;
  /** The queues the API enqueues on; the dashboard and metrics read them too. */
  verifyQueue: Queue;
  interactiveQueue: Queue;
  /** The API's registry and series, made before the services that record into them. */
  metrics: ApiMetrics;
  /** Counts wrong dashboard credentials per client address. */
  limiter: RateLimiter;
}

export interface RegisteredRoute {
  method: string;
  /** As Fastify has it, prefix included: `/v1/management/connections/:id`. */
  url: string;
}

const routesByApp = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route the app registered after registerOps (HEAD routes Fastify derives from GET excluded). */
export const registeredRoutes = (app: FastifyInstance): readonly RegisteredRoute[] =>
  routesByApp.get(app) ?? [];

/**
 * The operations surface (docs/contract.md §9): /metrics, /openapi.json, /docs and the queue dashboard at
 * /admin/queues. Call it before the other routes are registered: its hooks time every request and
 * it records every route, to check at start that the document covers the REST door.
 */
export async function registerOps(
  app: FastifyInstance,
  { config, verifyQueue, interactiveQueue, metrics, limiter }: OpsDeps,
): Promise<void> {
  const routes: RegisteredRoute[] = [];
  routesByApp.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url });
    }
  });

  registerMetrics(app, metrics, {
    queues: [verifyQueue, interactiveQueue],
    log: app.log,
    token: config.metricsToken,
  });

  const document = buildOpenApiDocument();
  app.get('/openapi.json', async () => document);
  await registerDocs(app);

  app.addHook('onReady', async () => {
    const missing = routes.filter(
      (r) => r.url.startsWith(CONNECTIONS_PATH) && !document.paths[toOpenApiPath(r.url)]?.[lower(r.method)],
    );
    if (missing.length > 0) {
      app.log.warn({ routes: missing }, 'openapi: REST routes missing from /openapi.json');
    }
  });

  const { credentials } = config.admin;
  if (credentials) {
    await registerQueueDashboard(app, {
      credentials,
      verifyQueue,
      interactiveQueue,
      failedLogins: { limiter, maxFailures: config.rateLimit.adminAuthFailures },
    });
    app.log.info({ path: DASHBOARD_PATH, docs: DOCS_PATH }, 'queue dashboard mounted');
  } else {
    const message = `queue dashboard not mounted at ${DASHBOARD_PATH}: set ADMIN_USER and ADMIN_PASSWORD to enable it`;
    if (config.env === 'production') app.log.warn(message);
    else app.log.info(message);
  }
}

const lower = (method: string) => method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete';
