import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import {
  AppError,
  checkReadiness,
  type Logger,
  RETRY_AFTER_SECONDS,
  type ReadinessProbes,
  toProblem,
} from '@dbconn/shared';

export interface WaitingServerOptions {
  host: string;
  port: number;
  /** `PendingDependency` store and Redis: down until the process has them. */
  probes: ReadinessProbes;
  /** STORE_TIMEOUT_MS, as the full server's /ready (see checkReadiness). */
  readyTimeoutMs: number;
  log: Logger;
}

export interface WaitingServer {
  /** Stops listening and drops open sockets: the port is free for the full server. */
  close(): Promise<void>;
}

/**
 * What the API serves on its port while it waits for the store or Redis at start: `/health` 200
 * (the process is up), `/ready` 503 naming what is awaited (the same check and body as the full
 * server's), and 503 UNAVAILABLE with Retry-After for anything else, as a request meets during an
 * outage. Plain node:http: the full server cannot be built before its store and Redis exist.
 */
export async function startWaitingServer(options: WaitingServerOptions): Promise<WaitingServer> {
  const log = options.log.child({ component: 'waiting-server' });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/$/, '') || '/';
    if (path === '/health') return send(res, 200, { status: 'ok' });
    if (path === '/ready') {
      void checkReadiness(options.probes, options.readyTimeoutMs).then((notReady) => {
        if (!notReady) return send(res, 200, { status: 'ready' });
        log.debug({ down: notReady.error.extra?.down, reasons: notReady.reasons }, 'not ready (starting)');
        return sendProblem(res, notReady.error);
      });
      return;
    }
    sendProblem(
      res,
      new AppError('UNAVAILABLE', 'starting: waiting for the store and Redis', {
        retryAfter: RETRY_AFTER_SECONDS,
      }),
    );
  });
  // Nobody holds a socket for long at this stage: answers are immediate.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  log.info(
    { host: options.host, port: options.port },
    'waiting for the store and Redis; /health and /ready answer meanwhile',
  );
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function sendProblem(res: ServerResponse, error: AppError): void {
  res.setHeader('retry-after', String(error.retryAfter ?? RETRY_AFTER_SECONDS));
  send(res, error.status, toProblem(error), 'application/problem+json');
}

/** The marks every answer of the full server carries (app.ts, markAnswer). */
function send(
  res: ServerResponse,
  status: number,
  body: object,
  type: 'application/json' | 'application/problem+json' = 'application/json',
): void {
  const requestId = randomUUID();
  const text = JSON.stringify(type === 'application/problem+json' ? { ...body, requestId } : body);
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-request-id': requestId,
  });
  res.end(text);
}
