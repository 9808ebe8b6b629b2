import { randomUUID } from 'node:crypto';
import type {
  Config,
  ConnectionStore,
  Keyring,
  Logger,
  Queue,
  Redis,
  VerifyConnectionJob,
} from '@dbconn/shared';
import { AppError } from '@dbconn/shared';
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerConnectionRoutes } from './rest/connections.rest.js';
import { requestContext } from './rest/context.js';
import { sendProblem, toAppError } from './rest/problem.js';
import { type AppRouter, appRouter } from './router.js';
import { ConnectionService } from './services/connections.service.js';
import type { TrpcContext } from './trpc/trpc.js';

/** Request bodies above this are refused with 413 (spec §4: ≤256 KiB). */
export const BODY_LIMIT_BYTES = 256 * 1024;

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
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
  });
  const connections = new ConnectionService({
    store: deps.store,
    verifyQueue: deps.verifyQueue,
    keyring: deps.keyring,
    retry: deps.config.verify,
  });

  // Bodies are JSON only: a text/plain body would otherwise reach the handlers as a string.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('organizationId', '');
  app.addHook('onRequest', async (req) => {
    // Auth is not enabled yet: every caller belongs to the configured default organization.
    req.organizationId = deps.config.auth.defaultOrganizationId;
  });

  app.setErrorHandler((error, req, reply) => sendProblem(reply, toAppError(error, req.log)));
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, new AppError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)),
  );

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: ({ req }): TrpcContext => ({ ...requestContext(req), connections }),
    },
  } satisfies FastifyTRPCPluginOptions<AppRouter>);

  registerConnectionRoutes(app, connections);

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_req, reply) => {
    const checks = await Promise.allSettled([deps.store.ping(), deps.redis.ping()]);
    const down = (['store', 'redis'] as const).filter((_, i) => checks[i]?.status === 'rejected');
    if (down.length === 0) return { status: 'ready' };
    reply.header('retry-after', '5');
    return sendProblem(
      reply,
      new AppError('UNAVAILABLE', `not ready: ${down.join(', ')} unreachable`, {
        retryAfter: 5,
        extra: { down },
      }),
    );
  });

  return app;
}
