import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkReadiness, type Logger, type ReadinessProbes, toProblem } from '@dbconn/shared';
import type { Registry } from 'prom-client';

export interface OpsServerOptions {
  host: string;
  /** 0 takes any free port (see `port` of the result). */
  port: number;
  /** The store, or a `PendingDependency` while the worker waits for it at start. */
  store: ReadinessProbes['store'];
  /** The worker's Redis client (the one its queues use), or a `PendingDependency`. */
  redis: ReadinessProbes['redis'];
  registry: Registry;
  log: Logger;
  /** How long /ready waits for each dependency: STORE_TIMEOUT_MS in the worker (see checkReadiness). */
  readyTimeoutMs: number;
}

export interface OpsServer {
  /** The port actually bound. */
  port: number;
  /** Stops accepting probes and scrapes and drops open keep-alive sockets. */
  close(): Promise<void>;
}

/**
 * The worker's operations port (docs/contract.md §9): `GET /health` (the process is up), `GET /ready` (the
 * store and Redis answer; otherwise 503 naming which is down) and `GET /metrics` (Prometheus text).
 * Plain node:http: three routes do not need a framework.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const log = options.log.child({ component: 'ops-server' });

  async function ready(res: ServerResponse) {
    // The API's /ready check and problem body, so one probe config fits both.
    const notReady = await checkReadiness(
      { store: options.store, redis: options.redis },
      options.readyTimeoutMs,
    );
    if (!notReady) return sendJson(res, 200, { status: 'ready' });
    const { error, reasons } = notReady;
    log.warn({ down: error.extra?.down, reasons }, 'not ready');
    res.setHeader('retry-after', String(error.retryAfter));
    return sendJson(res, 503, toProblem(error), 'application/problem+json');
  }

  async function metrics(res: ServerResponse) {
    const text = await options.registry.metrics();
    res.writeHead(200, { 'content-type': options.registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
  }

  const routes: Record<string, (res: ServerResponse) => Promise<void> | void> = {
    '/health': (res) => sendJson(res, 200, { status: 'ok' }),
    '/ready': ready,
    '/metrics': metrics,
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) return sendJson(res, 404, { status: 'not found' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { status: 'method not allowed' });
    }
    Promise.resolve(route(res)).catch((err: unknown) => {
      log.error({ err, path }, 'operations endpoint failed');
      if (!res.headersSent) sendJson(res, 500, { status: 'error' });
      else res.destroy();
    });
  });
  // Probes and scrapes are small; a client that sends nothing should not hold a socket for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  log.info({ host: options.host, port }, 'operations server listening (/health, /ready, /metrics)');

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  type: 'application/json' | 'application/problem+json' = 'application/json',
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
