import { AppError, type ErrorCode, toProblem } from '@dbconn/shared';
import type { FastifyBaseLogger, FastifyError, FastifyReply } from 'fastify';

/** Fastify's own request errors, mapped to catalogue codes (all 4xx; never a 500 for bad input). */
const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_REQUEST',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Any error thrown on the REST side, as the AppError a caller sees. Unknown ones become INTERNAL. */
export function toAppError(error: unknown, log: FastifyBaseLogger): AppError {
  if (error instanceof AppError) {
    // An INTERNAL raised on purpose (a worker job that failed) still owes the log its cause.
    if (error.code === 'INTERNAL') log.error({ err: error.cause ?? error }, 'internal error');
    return error;
  }
  const fastifyError = error as Partial<FastifyError> & { status?: number };
  const mapped = fastifyError.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (mapped)
    return new AppError(
      mapped,
      mapped === 'MALFORMED_REQUEST' ? describeParseError(fastifyError) : undefined,
    );
  // JSON.parse errors and prototype-poisoning refusals arrive as 400s without one of the codes above.
  if (error instanceof SyntaxError || fastifyError.statusCode === 400) {
    return new AppError('MALFORMED_REQUEST', describeParseError(fastifyError));
  }
  if (fastifyError.statusCode === 413) return new AppError('PAYLOAD_TOO_LARGE');
  if (fastifyError.statusCode === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE');
  log.error({ err: error }, 'unhandled error');
  return new AppError('INTERNAL', 'An internal error occurred; it has been logged.');
}

function describeParseError(error: Partial<FastifyError>): string {
  return error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
    ? 'The body is empty; send a JSON object'
    : 'The body is not valid JSON; send a JSON object';
}

/** The problem body, with the request id (also in the `X-Request-Id` header) to quote to an operator. */
export function sendProblem(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  for (const [name, value] of Object.entries(error.headers ?? {})) reply.header(name, value);
  return reply
    .status(error.status)
    .type('application/problem+json')
    .send({ ...toProblem(error), requestId: reply.request.id });
}
