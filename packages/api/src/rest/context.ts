import type { FastifyRequest } from 'fastify';
import type { Door, RequestContext } from '../context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook: the caller's organization (the default one while auth is disabled). */
    organizationId: string;
  }
}

export const requestContext = (req: FastifyRequest, door: Door = 'rest'): RequestContext => ({
  organizationId: req.organizationId,
  requestId: req.id,
  door,
  log: req.log,
});
