import { type AppError, ERROR_CATALOGUE } from '@dbconn/shared';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from '../rest/problem.js';

const TRPC_PREFIX = '/trpc/';

/**
 * Sends an error raised before a procedure ran (a body Fastify refused: too large, not JSON, wrong
 * content type; a URL that does not decode) in the shape of the door it came through: tRPC's error
 * envelope under /trpc, so typed clients get a TRPCClientError with `data.code`; problem+json
 * everywhere else.
 */
export function sendRequestError(req: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (!req.url.startsWith(TRPC_PREFIX)) return sendProblem(reply, error);
  const url = new URL(req.url, 'http://localhost');
  // The path may not decode (that can be the very error): it is read raw, never decoded.
  const paths = url.pathname.slice(TRPC_PREFIX.length).split(',');
  const envelope = (path: string) => ({
    error: {
      message: error.message,
      code: TRPC_ERROR_CODES_BY_KEY[ERROR_CATALOGUE[error.code].trpc],
      data: { code: error.code, httpStatus: error.status, path, requestId: req.id },
    },
  });
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  for (const [name, value] of Object.entries(error.headers ?? {})) reply.header(name, value);
  const body = url.searchParams.get('batch') === '1' ? paths.map(envelope) : envelope(paths[0] ?? '');
  return reply.status(error.status).type('application/json').send(body);
}
