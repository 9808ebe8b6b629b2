import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { AppError, type Queue, VerifyConnectionJobSchema } from '@dbconn/shared';
import type { FastifyInstance } from 'fastify';
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
    scope.addHook('onSend', async (_req, reply, payload) => {
      const type = reply.getHeader('content-type');
      if (typeof payload !== 'string' || typeof type !== 'string' || !type.startsWith('text/html')) {
        return payload;
      }
      return payload.replace(EXTERNAL_STYLESHEET, '');
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}
