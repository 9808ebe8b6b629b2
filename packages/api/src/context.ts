import type { FastifyBaseLogger } from 'fastify';

/** The way a call came in: the REST shim or tRPC. */
export type Door = 'rest' | 'trpc';

/** Who is asking: the organization (from auth, or the default one), through which door, and a per-request logger. */
export interface RequestContext {
  organizationId: string;
  /** The request's id: the caller's valid `X-Request-Id`, else one made here; answered in the header and in errors. */
  requestId: string;
  /** The caller (`<owner>/<sub>` or `sub`), recorded on changes; undefined while auth is off. */
  subject?: string | undefined;
  door: Door;
  log: FastifyBaseLogger;
}
