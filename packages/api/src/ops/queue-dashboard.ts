import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { AppError, JOB_NAMES, type Queue, VerifyConnectionJobSchema } from '@dbconn/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { sendProblem } from '../rest/problem.js';
import type { RateLimiter } from '../services/rate-limiter.js';
import { type BasicCredentials, hasValidBasicCredentials } from './basic-auth.js';

export const DASHBOARD_PATH = '/admin/queues';
/** The rate-limit scope that counts wrong dashboard credentials. */
const LOGIN_SCOPE = 'dashboard-login';

export interface QueueDashboardOptions {
  credentials: BasicCredentials;
  /** Background verifications: operators may retry, promote or clean them. */
  verifyQueue: Queue;
  /**
   * Interactive jobs: shown read-only. A person was waiting for each one and has had an answer (or
   * a timeout) by the time anyone looks; re-running one from here would answer nobody.
   */
  interactiveQueue: Queue;
  /**
   * Wrong credentials are counted per client address; at `maxFailures` in a window the address is
   * answered 429 until the window ends, so guessing the password is slow.
   */
  failedLogins: { limiter: RateLimiter; maxFailures: number };
}

/**
 * bull-board's UI page links a Google Fonts stylesheet. Nothing the dashboard loads may come from
 * outside this server, so the link is dropped (the UI falls back to the system sans-serif).
 */
const EXTERNAL_STYLESHEET = /<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>/gi;

/**
 * The dashboard loads only what this server serves (its scripts are files, its one inline block is
 * JSON data, its inline styles need 'unsafe-inline'), talks only to this server, and may not be
 * framed by another page (no clickjacking of its retry/clean/delete buttons).
 */
const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const DATA_WRITES = new Set([
  `${DASHBOARD_PATH}/api/queues/:queueName/add`,
  `${DASHBOARD_PATH}/api/queues/:queueName/:jobId/update-data`,
]);

const AddedJobSchema = z.strictObject({
  name: z.literal(JOB_NAMES.verifyConnection, {
    error: `name must be ${JOB_NAMES.verifyConnection}`,
  }),
  data: VerifyConnectionJobSchema,
  // Delays, priorities, repeats and custom ids are the service's to set, not the form's.
  options: z.strictObject({}, { error: 'options must be empty' }).optional(),
});
const UpdatedDataSchema = z.strictObject({ jobData: VerifyConnectionJobSchema });

/**
 * bull-board checks a job's data against `jobDataSchema` only in the browser: its API adds or
 * rewrites a job with any data. Here every write of job data is checked against the schema the
 * worker re-checks (ids only, nothing a dial could be pointed with). Null when allowed.
 */
function refusedWrite(req: FastifyRequest): AppError | null {
  const route = req.routeOptions.url;
  if (!route || !DATA_WRITES.has(route)) return null;
  const parsed = (route.endsWith('/add') ? AddedJobSchema : UpdatedDataSchema).safeParse(req.body);
  if (parsed.success) return null;
  return new AppError('VALIDATION_FAILED', 'A job may carry only the data of a verification (ids only)', {
    errors: parsed.error.issues.map((issue) => ({
      field: issue.path.join('.') || 'body',
      message: issue.message,
    })),
  });
}

/** The BullMQ dashboard (bull-board) at /admin/queues, behind HTTP Basic credentials. */
export async function registerQueueDashboard(
  app: FastifyInstance,
  { credentials, verifyQueue, interactiveQueue, failedLogins }: QueueDashboardOptions,
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: [
      new BullMQAdapter(verifyQueue, {
        description: 'Background verifications (after create/update, sweeper, periodic)',
        // The "add job" form validates against the same schema the worker re-checks.
        jobDataSchema: z.toJSONSchema(VerifyConnectionJobSchema),
      }),
      new BullMQAdapter(interactiveQueue, {
        readOnlyMode: true,
        description: 'Test now, try before save, schema discovery (read-only here)',
      }),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'dbconn queues' } },
  });

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      const attempts = { key: `address:${req.ip}`, max: failedLogins.maxFailures };
      try {
        await failedLogins.limiter.assertBelow(LOGIN_SCOPE, attempts);
        if (hasValidBasicCredentials(req.headers.authorization, credentials)) return;
        // A request without credentials (a browser's first) is no guess; a wrong pair is one.
        if (req.headers.authorization !== undefined)
          await failedLogins.limiter.consume(LOGIN_SCOPE, [attempts]);
      } catch (error) {
        if (error instanceof AppError) return sendProblem(reply, error);
        throw error;
      }
      reply.header('www-authenticate', 'Basic realm="dbconn queues", charset="UTF-8"');
      return sendProblem(reply, new AppError('UNAUTHENTICATED', 'The queue dashboard needs its credentials'));
    });
    scope.addHook('preHandler', async (req, reply) => {
      const refused = refusedWrite(req);
      if (refused) return sendProblem(reply, refused);
    });
    scope.addHook('onSend', async (_req, reply, payload) => {
      reply.header('content-security-policy', DASHBOARD_CSP);
      reply.header('x-frame-options', 'DENY');
      const type = reply.getHeader('content-type');
      if (typeof payload !== 'string' || typeof type !== 'string' || !type.startsWith('text/html')) {
        return payload;
      }
      return payload.replace(EXTERNAL_STYLESHEET, '');
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}
