/**
 * The one error catalogue: every stable code the service can answer with, its HTTP status and
 * its tRPC code. REST and tRPC both map through this table, so a code cannot mean two things.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: { status: 400, trpc: 'BAD_REQUEST', title: 'The request has invalid fields' },
  INVALID_HEADER: { status: 400, trpc: 'BAD_REQUEST', title: 'A request header is invalid' },
  MALFORMED_REQUEST: { status: 400, trpc: 'PARSE_ERROR', title: 'The request could not be parsed' },
  UNAUTHENTICATED: { status: 401, trpc: 'UNAUTHORIZED', title: 'Authentication is required' },
  FORBIDDEN: { status: 403, trpc: 'FORBIDDEN', title: 'Not allowed' },
  TENANT_REQUIRED: { status: 403, trpc: 'FORBIDDEN', title: 'The token names no organization' },
  NOT_FOUND: { status: 404, trpc: 'NOT_FOUND', title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, trpc: 'METHOD_NOT_SUPPORTED', title: 'Method not allowed' },
  /** The client did not send the whole request within API_REQUEST_TIMEOUT_MS (answered by the HTTP server). */
  REQUEST_TIMEOUT: { status: 408, trpc: 'TIMEOUT', title: 'The request was not received in time' },
  CONFIG_NAME_TAKEN: { status: 409, trpc: 'CONFLICT', title: 'The configName is already in use' },
  ALREADY_ASSIGNED: { status: 409, trpc: 'CONFLICT', title: 'The connection already has a product' },
  /** A create with this Idempotency-Key is still running: retry after Retry-After for its answer. */
  IDEMPOTENCY_KEY_IN_PROGRESS: {
    status: 409,
    trpc: 'CONFLICT',
    title: 'A request with this Idempotency-Key is in progress',
  },
  VERSION_MISMATCH: { status: 412, trpc: 'PRECONDITION_FAILED', title: 'The connection has changed' },
  PAYLOAD_TOO_LARGE: { status: 413, trpc: 'PAYLOAD_TOO_LARGE', title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    trpc: 'UNSUPPORTED_MEDIA_TYPE',
    title: 'The request body must be application/json',
  },
  SCHEMA_VALIDATION_FAILED: {
    status: 422,
    trpc: 'UNPROCESSABLE_CONTENT',
    title: 'Some mapped fields do not exist',
  },
  /** The Idempotency-Key was used within 24 h with another body: a new create needs a new key. */
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    trpc: 'UNPROCESSABLE_CONTENT',
    title: 'The Idempotency-Key was used with another request',
  },
  RATE_LIMITED: { status: 429, trpc: 'TOO_MANY_REQUESTS', title: 'Too many requests' },
  /**
   * The request headers exceed Node's limit (answered by the HTTP server before any route, so no
   * door; tRPC has no code of its own for 431).
   */
  HEADERS_TOO_LARGE: {
    status: 431,
    trpc: 'BAD_REQUEST',
    title: 'The request headers are too large',
  },
  INTERNAL: { status: 500, trpc: 'INTERNAL_SERVER_ERROR', title: 'Internal error' },
  DATA_SOURCE_DOWN: { status: 502, trpc: 'BAD_GATEWAY', title: 'The database could not be reached' },
  UNAVAILABLE: { status: 503, trpc: 'SERVICE_UNAVAILABLE', title: 'A dependency is unavailable' },
  AUTH_UNAVAILABLE: {
    status: 503,
    trpc: 'SERVICE_UNAVAILABLE',
    title: 'The authorization service is unavailable',
  },
  WORKER_TIMEOUT: { status: 504, trpc: 'GATEWAY_TIMEOUT', title: 'No worker answered in time' },
} as const satisfies Record<string, { status: number; trpc: string; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/**
 * The Retry-After (seconds) of a 503 or 504 when a dependency (store, Redis, the queue, a worker)
 * did not answer: long enough for a restart or failover to finish, short enough that a client
 * does not give up on a blip. A 429 says instead how long its window has left.
 */
export const RETRY_AFTER_SECONDS = 5;
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** One bad input field: `field` is a dotted path as the caller wrote it (`metadata.team`, `ssl.key`). */
export interface FieldError {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  errors?: FieldError[];
  /** Seconds, sent as `Retry-After` with 429 and 503. */
  retryAfter?: number;
  /** Extra members for the problem body (for example `errors` of schema validation). */
  extra?: Record<string, unknown>;
  /** Response headers the answer must carry besides `Retry-After` (e.g. `WWW-Authenticate` of a 401). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** The only error type that crosses a door. Anything else becomes INTERNAL with its cause logged. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;
  readonly retryAfter: number | undefined;
  readonly extra: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, detail?: string, options: AppErrorOptions = {}) {
    super(detail ?? ERROR_CATALOGUE[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.errors = options.errors;
    this.retryAfter = options.retryAfter;
    this.extra = options.extra;
    this.headers = options.headers;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}

/** The RFC 9457 problem body for an error code. `type` is a stable URN per code. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export function toProblem(error: AppError): Problem {
  const entry = ERROR_CATALOGUE[error.code];
  return {
    type: `urn:dbconn:error:${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: entry.title,
    status: entry.status,
    detail: error.message,
    code: error.code,
    ...(error.errors ? { errors: error.errors } : {}),
    ...error.extra,
  };
}
