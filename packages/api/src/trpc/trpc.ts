import {
  AppError,
  ERROR_CATALOGUE,
  type ErrorCode,
  type FieldError,
  inSpan,
  SPAN_ATTRIBUTES,
  toFieldErrors,
} from '@dbconn/shared';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { initTRPC, TRPCError } from '@trpc/server';
import type { Identity } from '../auth/access-control.js';
import { type Action, trpcAction } from '../auth/operations.js';
import type { RequestContext } from '../context.js';
import type { ConnectionService } from '../services/connections.service.js';
import type { HistoryService } from '../services/history.service.js';
import type { SchemaService } from '../services/schema.service.js';
import type { VerificationService } from '../services/verification.service.js';
import type { WebhookService } from '../services/webhooks.service.js';

/**
 * What createContext gives every call. The organization and subject are not in it: each procedure
 * learns them from `authorize` (the `authorized` middleware), for its own action.
 */
export interface TrpcContext extends Omit<RequestContext, 'organizationId' | 'subject'> {
  /** The caller's identity for an action, or the AppError to answer with (401, 403, 503). */
  authorize(action: Action): Promise<Identity>;
  connections: ConnectionService;
  verification: VerificationService;
  schemas: SchemaService;
  history: HistoryService;
  webhooks: WebhookService;
}

interface IssueCarrier {
  issues: Parameters<typeof toFieldErrors>[0];
}
const hasIssues = (e: unknown): e is IssueCarrier =>
  typeof e === 'object' && e !== null && Array.isArray((e as { issues?: unknown }).issues);

/**
 * The catalogue code and field list of an error, whatever door it went through: an AppError from
 * the service, an input parse failure (zod issues), or anything else (INTERNAL, logged).
 */
export interface DescribedError {
  code: ErrorCode;
  errors?: FieldError[];
  extra?: Record<string, unknown>;
  retryAfter?: number;
}

export function describeError(error: TRPCError): DescribedError {
  const cause = error.cause;
  if (cause instanceof AppError) {
    return {
      code: cause.code,
      ...(cause.errors ? { errors: cause.errors } : {}),
      ...(cause.extra ? { extra: cause.extra } : {}),
      ...(cause.retryAfter !== undefined ? { retryAfter: cause.retryAfter } : {}),
    };
  }
  if (error.code === 'BAD_REQUEST' && hasIssues(cause)) {
    return { code: 'VALIDATION_FAILED', errors: toFieldErrors(cause.issues) };
  }
  // tRPC answers an input that is not JSON (or a query string that does not decode) with a bare
  // BAD_REQUEST whose cause is the parser's error.
  if (error.code === 'PARSE_ERROR' || error.code === 'BAD_REQUEST') return { code: 'MALFORMED_REQUEST' };
  if (error.code === 'NOT_FOUND') return { code: 'NOT_FOUND' };
  if (error.code === 'METHOD_NOT_SUPPORTED') return { code: 'METHOD_NOT_ALLOWED' };
  if (error.code === 'PAYLOAD_TOO_LARGE') return { code: 'PAYLOAD_TOO_LARGE' };
  if (error.code === 'UNSUPPORTED_MEDIA_TYPE') return { code: 'UNSUPPORTED_MEDIA_TYPE' };
  return { code: 'INTERNAL' };
}

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error, ctx }) {
    const { code, errors, extra, retryAfter } = describeError(error);
    return {
      ...shape,
      // Unknown errors keep a generic message; the cause is only in the logs.
      // A parser's message may quote the input (a password included): never echoed.
      message:
        code === 'INTERNAL'
          ? ERROR_CATALOGUE.INTERNAL.title
          : code === 'MALFORMED_REQUEST' && !(error.cause instanceof AppError)
            ? `${ERROR_CATALOGUE.MALFORMED_REQUEST.title}: the input must be JSON`
            : error.cause instanceof AppError || !errors
              ? shape.message
              : `Invalid ${errors.map((e) => e.field).join(', ')}`,
      data: {
        ...shape.data,
        code,
        ...extra,
        ...(errors ? { errors } : {}),
        ...(retryAfter !== undefined ? { retryAfter } : {}),
        ...(ctx ? { requestId: ctx.requestId } : {}),
        stack: undefined,
      },
    };
  },
});

/** Re-throws AppErrors as TRPCErrors with the catalogue's tRPC code, so the HTTP status matches REST. */
const mapAppErrors = t.middleware(async ({ next, ctx, path }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof AppError) {
      if (cause.code === 'INTERNAL') ctx.log.error({ err: cause.cause ?? cause, path }, 'internal error');
      throw new TRPCError({ code: ERROR_CATALOGUE[cause.code].trpc, message: cause.message, cause });
    }
    if (result.error.code === 'INTERNAL_SERVER_ERROR')
      ctx.log.error({ err: result.error.cause ?? result.error, path }, 'unhandled error');
  }
  return result;
});

/**
 * A span per procedure, named by its path (`connections.create`): a request's span holds one per
 * call of a batch. Its outcome is the catalogue code; a server-side failure marks it as an error.
 */
const traced = t.middleware(({ next, path, type }) =>
  inSpan(
    path,
    { attributes: { 'rpc.system': 'trpc', 'rpc.method': path, 'trpc.type': type } },
    async (span) => {
      const result = await next();
      if (!result.ok) {
        const { code } = describeError(result.error);
        span.setAttribute(SPAN_ATTRIBUTES.code, code);
        if (ERROR_CATALOGUE[code].status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return result;
    },
  ),
);

/**
 * Every procedure asks access control first, with the action auth/operations.ts gives its path;
 * a procedure missing from that table is refused, never open (docs/contract.md §8).
 */
const authorized = t.middleware(async ({ next, ctx, path }) => {
  const action = trpcAction(path);
  if (!action) throw new AppError('FORBIDDEN', `${path} has no access rule`);
  const { organizationId, subject } = await ctx.authorize(action);
  trace.getActiveSpan()?.setAttribute(SPAN_ATTRIBUTES.organizationId, organizationId);
  const log = subject ? ctx.log.child({ subject }) : ctx.log;
  return next({ ctx: { organizationId, subject, log } });
});

export const router = t.router;
/** The base of every procedure: errors mapped through the catalogue, the caller authorized. */
export const authorizedProcedure = t.procedure.use(traced).use(mapAppErrors).use(authorized);
export const createCallerFactory = t.createCallerFactory;
