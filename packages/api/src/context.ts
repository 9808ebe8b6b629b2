import type { FastifyBaseLogger } from 'fastify';

/** Who is asking: the organization (from auth, or the default one) and a per-request logger. */
export interface RequestContext {
  organizationId: string;
  log: FastifyBaseLogger;
}
