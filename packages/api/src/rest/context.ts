import type { FastifyRequest } from 'fastify';
import type { Door, RequestContext } from '../context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook: the caller's organization (the default one while auth is disabled). */
    organizationId: string;
    /** Set by the auth hook: who is calling (never the token); undefined while auth is off. */
    subject: string | undefined;
  }
}

export const requestContext = (req: FastifyRequest, door: Door = 'rest'): RequestContext => ({
  organizationId: req.organizationId,
  requestId: req.id,
  subject: req.subject,
  door,
  log: req.log,
  clientAddress: req.ip,
});
