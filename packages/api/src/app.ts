import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type {
  Config,
  ConnectionStore,
  Keyring,
  Logger,
  Queue,
  Redis,
  VerifyConnectionJob,
} from '@dbconn/shared';
import {
  AppError,
  checkReadiness,
  compileEgressPolicy,
  createInteractiveQueue,
  createRedis,
  createWebhookQueue,
  type ErrorCode,
  isTracing,
  publishConnectionEvent,
  QUEUE_NAMES,
  SelfTargets,
  selfTargetsOf,
  toProblem,
} from '@dbconn/shared';
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import { QueueEvents } from 'bullmq';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { AccessControl } from './auth/access-control.js';
import { guardRestRoutes } from './auth/rest-guard.js';
import { registerOps } from './ops/index.js';
import { createApiMetrics } from './ops/metrics.js';
import { registerRequestSpans } from './ops/tracing.js';
import { registerConnectionRoutes } from './rest/connections.rest.js';
import { sendProblem, toAppError } from './rest/problem.js';
import { registerWebhookRoutes } from './rest/webhooks.rest.js';
import { type AppRouter, appRouter } from './router.js';
import { ConnectionEvents } from './services/connection-events.js';
import { ConnectionService } from './services/connections.service.js';
import { HistoryService } from './services/history.service.js';
import { IdempotencyKeys } from './services/idempotency.js';
import { InteractiveClient } from './services/interactive.client.js';
import { RateLimiter } from './services/rate-limiter.js';
import { SchemaService } from './services/schema.service.js';
import { SchemaCache } from './services/schema-cache.js';
import { VerificationService } from './services/verification.service.js';
import { WebhookService } from './services/webhooks.service.js';
import { sendRequestError } from './trpc/http-errors.js';
import type { TrpcContext } from './trpc/trpc.js';

/**
 * Fastify's request lines log the whole URL, and a query string can carry a secret (a tRPC input
 * sent by GET, password included): one line per request instead, with the path and route only.
 */
class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    // Not `req`/`res`: Fastify's serializers for those keys would put the full URL back.
    const line = {
      request: { method: request.method, path: pathOf(request.url), route: request.routeOptions.url },
      // Who asked (never the token): set once access control has named the caller.
      ...(request.subject ? { subject: request.subject } : {}),
      response: { statusCode: reply.statusCode },
      responseTime: reply.elapsedTime,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.info({ request: { method: request.method, path: pathOf(request.url) } }, 'no such route');
  }
}

const pathOf = (url: string) => url.split('?')[0];

const REQUEST_ID = /^[\w-]{1,64}$/;

/**
 * On every answer: the request id, so a caller can quote it; no content sniffing (a JSON body
 * holding markup is never rendered as a page); and no cache may keep an answer, which can describe
 * a user's databases. The dashboard adds its own content security policy.
 */
function markAnswer(req: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', req.id);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('cache-control', 'no-store');
}

/**
 * A subscription's EventSource cannot send headers: the token may come in tRPC's connection params
 * instead (`connectionParams: { authorization: 'Bearer <token>' }` or `{ token: '<token>' }`).
 */
function bearerFromParams(params: Record<string, string | undefined> | null | undefined): string | undefined {
  if (!params) return undefined;
  if (typeof params.authorization === 'string') return params.authorization;
  if (typeof params.token === 'string') return `Bearer ${params.token}`;
  return undefined;
}

/** Whether every percent-escape of a URL is well-formed UTF-8 (decodeURIComponent refuses the rest). */
function decodes(url: string): boolean {
  try {
    decodeURIComponent(url);
    return true;
  } catch {
    return false;
  }
}

/**
 * Node's HTTP server answers some requests itself, before Fastify sees them: headers over its
 * limit (431), a request not received within the request timeout (408), bytes that are not HTTP
 * (400). Those answers get the same problem+json body as every other error.
 */
const CLIENT_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

function answerClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = CLIENT_ERRORS[error.code ?? ''] ?? 'MALFORMED_REQUEST';
  this.log.debug({ code, reason: error.code }, 'request refused by the HTTP server');
  // No request reached Fastify, so no id was made for it: one is made here, as for any answer.
  const requestId = randomUUID();
  const problem = toProblem(new AppError(code));
  const body = JSON.stringify({ ...problem, requestId });
  // As Node's own handler: no second answer on a socket whose response has begun.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        'Cache-Control: no-store\r\n' +
        'X-Content-Type-Options: nosniff\r\n' +
        `X-Request-Id: ${requestId}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy();
}

/** Request bodies above this are refused with 413 (docs/contract.md §4: ≤256 KiB). */
export const BODY_LIMIT_BYTES = 256 * 1024;
/** An Idempotency-Key claim lasts this many store deadlines: longer than a create can take. */
const IDEMPOTENCY_LEASE_STORE_CALLS = 4;

export interface AppDeps {
  config: Config;
  log: Logger;
  store: ConnectionStore;
  redis: Redis;
  verifyQueue: Queue<VerifyConnectionJob>;
  keyring: Keyring;
}

/** One HTTP server: tRPC at /trpc, the REST shim under /v1, health probes. No listening here. */
export async function buildServer(deps: AppDeps): Promise<FastifyInstance> {
  // Typed as Fastify's logger so request loggers (children of it) fit RequestContext.
  const loggerInstance: FastifyBaseLogger = deps.log;
  const app = Fastify({
    loggerInstance,
    bodyLimit: BODY_LIMIT_BYTES,
    // Node checks request deadlines every connectionsCheckingInterval (30 s by default): a
    // shorter timeout needs a shorter check, or it would fire up to 30 s late.
    requestTimeout: deps.config.api.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(60_000, deps.config.api.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(
        30_000,
        Math.max(50, Math.floor(deps.config.api.requestTimeoutMs / 4)),
      ),
    },
    clientErrorHandler: answerClientError,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // The caller's X-Request-Id when it is a plain token (it is logged and echoed: nothing that
    // could split a header or a log line); a new one otherwise.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
    logController: new RequestLogController(),
    // A path or query string that does not decode (`%ZZ`) gets the same problem body as any 400.
    // Hooks do not run for these answers: they are marked here.
    frameworkErrors: (_error, req, reply) => {
      markAnswer(req, reply);
      return sendRequestError(
        req,
        reply,
        new AppError('MALFORMED_REQUEST', 'The URL does not decode: check its percent-escapes (%XX)'),
      );
    },
  });
  // First of all hooks, so everything a request does runs inside its span.
  if (isTracing()) registerRequestSpans(app);
  const { config, store, redis, keyring } = deps;
  // First: a server that would run without the auth it was asked for must not start at all.
  const access = AccessControl.fromConfig(config.auth, loggerInstance);
  const prefix = config.redis.prefix;
  // Blocking readers (queue events, pub/sub) need connections of their own.
  const blocking = () => createRedis(config.redis, { blocking: true, log: loggerInstance });
  const interactiveQueue = createInteractiveQueue(redis, prefix);
  // BullMQ leaves a connection it was given open on close(): it is disconnected in onClose.
  const eventsConnection = blocking();
  const queueEvents = new QueueEvents(QUEUE_NAMES.interactive, { connection: eventsConnection, prefix });
  const subscriber = blocking();
  const interactive = new InteractiveClient(interactiveQueue, queueEvents, config.interactive.timeoutMs);
  const limiter = new RateLimiter(redis, prefix, config.rateLimit.windowSeconds);
  const schemaCache = new SchemaCache(redis, prefix, config.schema.cacheTtlSeconds);

  const metrics = createApiMetrics();
  const egressPolicy = compileEgressPolicy(config.egress);
  const egress = {
    policy: egressPolicy,
    selfTargets: new SelfTargets(selfTargetsOf(config.selfEndpoints), egressPolicy),
  };
  const history = new HistoryService(store);
  const webhookQueue = createWebhookQueue(redis, prefix);
  const webhooks = new WebhookService({
    store,
    keyring,
    queue: webhookQueue,
    policy: config.webhooks,
    history,
  });
  const connections = new ConnectionService({
    egress,
    store,
    history,
    verifyQueue: deps.verifyQueue,
    keyring,
    retry: config.verify,
    onCreated: metrics.recordCreated,
    dials: { limiter, perOrganization: config.rateLimit.dialsPerOrganization },
    // A claim outlives a create whose every store call ran to its deadline.
    idempotency: new IdempotencyKeys(
      redis,
      prefix,
      keyring,
      IDEMPOTENCY_LEASE_STORE_CALLS * config.store.timeoutMs,
    ),
    afterChange: async (record, change, ctx) => {
      await webhooks.emitChange(ctx, record, change);
      await schemaCache.drop(record.id);
      await publishConnectionEvent(redis, prefix, {
        id: record.id,
        status: record.status,
        dialVersion: record.dialVersion,
        ...(change === 'deleted' ? { deleted: true as const } : {}),
      });
    },
  });
  const verification = new VerificationService({
    store,
    history,
    keyring,
    redis,
    prefix,
    interactive,
    limiter,
    limits: config.rateLimit,
    events: new ConnectionEvents(subscriber, prefix),
    settingsTtlSeconds: Math.ceil(config.interactive.timeoutMs / 1000) + 30,
    egress,
  });
  const schemas = new SchemaService({
    store,
    interactive,
    cache: schemaCache,
    limiter,
    limits: config.rateLimit,
  });

  app.addHook('onReady', async () => {
    await queueEvents.waitUntilReady();
  });
  app.addHook('onClose', async () => {
    interactive.close();
    await queueEvents.close();
    eventsConnection.disconnect();
    await interactiveQueue.close();
    await webhookQueue.close();
    subscriber.disconnect();
  });

  // Bodies are JSON only: a text/plain body would otherwise reach the handlers as a string. An
  // empty JSON body is "no body" (e.g. POST /{id}/test sent with a JSON content type); each
  // route's schema then says whether a body was required.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') return done(null, undefined);
    return parseJson(req, body as string, done);
  });
  app.addHook('onSend', async (req, reply) => markAnswer(req, reply));
  // A percent-escape that is not UTF-8 (`%ED%A0%80`, a lone surrogate; `%FF`) would reach the
  // handlers as U+FFFD or as raw text: a URL that does not decode is refused as a whole.
  app.addHook('onRequest', async (req, reply) => {
    if (decodes(req.url)) return;
    return sendRequestError(
      req,
      reply,
      new AppError('MALFORMED_REQUEST', 'The URL does not decode: its percent-escapes must be UTF-8'),
    );
  });
  app.decorateRequest('organizationId', '');
  app.decorateRequest('subject', undefined);
  guardRestRoutes(app, access);

  app.setErrorHandler((error, req, reply) => sendRequestError(req, reply, toAppError(error, req.log)));
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, new AppError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)),
  );
  // Before any route: its hooks time every request and record every route.
  await registerOps(app, { config, verifyQueue: deps.verifyQueue, interactiveQueue, metrics, limiter });

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: ({ req, info }): TrpcContext => ({
        door: 'trpc',
        requestId: req.id,
        log: req.log,
        clientAddress: req.ip,
        authorize: async (action) => {
          const identity = await access.authorize(
            {
              authorization: req.headers.authorization ?? bearerFromParams(info.connectionParams),
              log: req.log,
            },
            action,
          );
          // The request line names the caller too (the last one of a batch; all share the token).
          req.subject = identity.subject;
          return identity;
        },
        connections,
        verification,
        schemas,
        history,
        webhooks,
      }),
      // As on REST: a 429, 503 or 504 says when to try again in a header, not only in the body.
      responseMeta: ({ errors }) => {
        const retryAfter = errors
          .map((e) => (e.cause instanceof AppError ? e.cause.retryAfter : undefined))
          .find((seconds) => seconds !== undefined);
        const extra = errors
          .map((e) => (e.cause instanceof AppError ? e.cause.headers : undefined))
          .find((headers) => headers !== undefined);
        const headers = {
          ...extra,
          ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
        };
        return Object.keys(headers).length === 0 ? {} : { headers };
      },
    },
  } satisfies FastifyTRPCPluginOptions<AppRouter>);

  registerConnectionRoutes(app, { connections, verification, schemas, history });
  registerWebhookRoutes(app, webhooks);

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (req, reply) => {
    const notReady = await checkReadiness({ store, redis }, config.store.timeoutMs);
    if (!notReady) return { status: 'ready' };
    req.log.warn({ down: notReady.error.extra?.down, reasons: notReady.reasons }, 'not ready');
    return sendProblem(reply, notReady.error);
  });

  return app;
}
