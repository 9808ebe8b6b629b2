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
  /**
   * The address the request came from (the socket's peer): what rate limits count per caller
   * when there is no authenticated subject.
   */
  clientAddress: string;
}

/**
 * Who a rate limit counts (docs/contract.md §8): the authenticated subject within its organization,
 * or, while auth is off, the client address within the organization. One caller cannot spend the
 * budget of another.
 */
export const callerKey = (ctx: Pick<RequestContext, 'organizationId' | 'subject' | 'clientAddress'>) =>
  ctx.subject !== undefined
    ? `caller:${ctx.organizationId}:subject:${ctx.subject}`
    : `caller:${ctx.organizationId}:address:${ctx.clientAddress}`;
