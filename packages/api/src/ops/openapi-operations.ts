import {
  ERROR_CATALOGUE,
  type ErrorCode,
  HistoryQuerySchema,
  IdempotencyKeySchema,
  IdSchema,
  ProductNameSchema,
  RestListConnectionsQuerySchema,
} from '@dbconn/shared';
import { IfMatchSchema } from '../rest/request.js';
import {
  BEARER_SECURITY,
  type ComponentName,
  type JsonObject,
  type JsonSchema,
  ref,
  toJsonSchema,
} from './openapi-components.js';

// ---- parameters ----

export const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'the connection id',
  schema: toJsonSchema(IdSchema, 'input'),
};

export const productHeader = (required: boolean, description: string) => ({
  name: 'X-Product-Name',
  in: 'header',
  required,
  description: `${description} Trimmed, then matched against the pattern, at most 100 characters, lower-cased.`,
  schema: toJsonSchema(ProductNameSchema, 'input'),
});

export const ifMatchHeader = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description:
    'The version the change is based on (the ETag of a GET: `"3"`, `W/"3"` or `3`). A stale one answers 412 VERSION_MISMATCH; `*` only asks that the connection exists.',
  schema: toJsonSchema(IfMatchSchema, 'input'),
};

export const idempotencyKeyHeader = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes the create safe to retry (1–255 printable ASCII characters; a UUID is a good choice). Within 24 h, per organization, the same key with the same body (product included) answers the first create’s 201 and body again and creates nothing; with another body 422 IDEMPOTENCY_KEY_REUSED; while the first create still runs 409 IDEMPOTENCY_KEY_IN_PROGRESS with Retry-After.',
  schema: toJsonSchema(IdempotencyKeySchema, 'input'),
};

const LIST_PARAMETER_DESCRIPTIONS: Record<string, string> = {
  page: 'page number, from 1',
  limit: 'items per page, 1–100',
  sortOrder: 'asc or desc, by createdAt then id',
  type: 'only this engine (any letter case)',
  status: 'only connections in this status',
  startDate: 'created on or after this UTC day (YYYY-MM-DD)',
  endDate: 'created on or before this UTC day (YYYY-MM-DD)',
  warning: 'only connections whose latest verification carries this warning code (any letter case)',
};

/** The list filters as query parameters; `metadata` is spelt `metadata.<key>=<value>` in a URL. */
export function listParameters(): JsonObject[] {
  const query = toJsonSchema(RestListConnectionsQuerySchema, 'input');
  const properties = (query.properties ?? {}) as Record<string, JsonSchema>;
  const params: JsonObject[] = [];
  for (const [name, schema] of Object.entries(properties)) {
    if (name === 'metadata') {
      params.push({
        name: 'metadata.<key>',
        in: 'query',
        required: false,
        description:
          'Exact match on one metadata entry: write the key after the dot, e.g. `metadata.team=data-engineering`. Repeat with other keys; all must match.',
        schema: (schema.additionalProperties as JsonSchema | undefined) ?? { type: 'string' },
      });
      continue;
    }
    params.push({
      name,
      in: 'query',
      required: false,
      ...(LIST_PARAMETER_DESCRIPTIONS[name] ? { description: LIST_PARAMETER_DESCRIPTIONS[name] } : {}),
      schema,
    });
  }
  return params;
}

/** `limit` and `cursor` of a history page. */
export function historyParameters(): JsonObject[] {
  const query = toJsonSchema(HistoryQuerySchema, 'input');
  const properties = (query.properties ?? {}) as Record<string, JsonSchema>;
  const descriptions: Record<string, string> = {
    limit: 'entries per page, 1–100 (default 20)',
    cursor: 'the nextCursor of the previous page (opaque)',
  };
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: false,
    ...(descriptions[name] ? { description: descriptions[name] } : {}),
    schema,
  }));
}

// ---- responses ----

export const header = (description: string, schema: JsonSchema = { type: 'string' }) => ({
  description,
  schema,
});
export const ETAG = header('the connection version as an entity tag, for If-Match');
const RETRY_AFTER = header('seconds to wait before retrying', { type: 'integer', minimum: 0 });
/** Rate limited, a dependency down, no worker in time: each answer says when to try again. */
const RETRY_AFTER_STATUSES = new Set([429, 503, 504]);
/** RFC 6750: `Bearer` without a token, `Bearer error="invalid_token"` for one that does not verify. */
const WWW_AUTHENTICATE = header('`Bearer`, or `Bearer error="invalid_token"` when the token was refused');

export const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

/** One response per status, narrowing the problem body to the codes the route can answer there. */
function errorResponses(codes: readonly ErrorCode[]): Record<string, JsonObject> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, JsonObject> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const narrowed: JsonSchema = {
      type: 'object',
      properties: { status: { const: status }, code: { enum: group } },
    };
    if (group.every((c) => c === 'SCHEMA_VALIDATION_FAILED')) {
      narrowed.required = ['errors'];
      (narrowed.properties as JsonSchema).errors = { type: 'array', items: ref('SchemaValidationError') };
    } else if (
      group.every((c) => c === 'VALIDATION_FAILED' || c === 'INVALID_HEADER' || c === 'MALFORMED_REQUEST')
    ) {
      (narrowed.properties as JsonSchema).errors = { type: 'array', items: ref('FieldError') };
    }
    out[String(status)] = {
      description: group.map((c) => `${c}: ${ERROR_CATALOGUE[c].title}`).join('; '),
      ...(RETRY_AFTER_STATUSES.has(status) || group.includes('IDEMPOTENCY_KEY_IN_PROGRESS')
        ? { headers: { 'Retry-After': RETRY_AFTER } }
        : {}),
      ...(status === 401 ? { headers: { 'WWW-Authenticate': WWW_AUTHENTICATE } } : {}),
      content: { 'application/problem+json': { schema: { allOf: [ref('Problem'), narrowed] } } },
    };
  }
  return out;
}

// ---- operations ----

/**
 * Answers any route can give: a URL that does not decode, headers over Node's limit, a request not
 * received in time, the store or Redis down, or a bug.
 */
export const ALWAYS: ErrorCode[] = [
  'MALFORMED_REQUEST',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'INTERNAL',
  'UNAVAILABLE',
];
/** Answers of a request whose body Fastify parses (POST, PATCH, DELETE); a broken one is MALFORMED_REQUEST. */
export const BODY: ErrorCode[] = ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
/** Answers of access control (docs/contract.md §8), on every `/v1` operation when auth is on. */
const AUTH: ErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'TENANT_REQUIRED', 'AUTH_UNAVAILABLE'];
/** Answers of work that goes through the worker (interactive queue) and the rate limiter. */
export const WORKER: ErrorCode[] = ['RATE_LIMITED', 'WORKER_TIMEOUT'];

interface OperationSpec {
  operationId: string;
  summary: string;
  description?: string;
  tag?: 'connections' | 'webhooks' | 'operations';
  parameters?: JsonObject[];
  body?: ComponentName;
  success: { status: number; description: string; schema?: ComponentName; headers?: Record<string, unknown> };
  errors: ErrorCode[];
}

/** An operation of the API: behind the bearer token unless it is a probe. */
export function operation(spec: OperationSpec): JsonObject {
  const { status, description, schema, headers } = spec.success;
  const isProbe = spec.tag === 'operations';
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag ?? 'connections'],
    ...(spec.parameters?.length ? { parameters: spec.parameters } : {}),
    ...(spec.body ? { requestBody: { required: true, content: json(ref(spec.body)) } } : {}),
    // Probes answer without a token: an empty list overrides any default.
    security: isProbe ? [] : BEARER_SECURITY,
    responses: {
      [String(status)]: {
        description,
        ...(headers ? { headers } : {}),
        ...(schema ? { content: json(ref(schema)) } : {}),
      },
      ...errorResponses([...new Set(isProbe ? spec.errors : [...AUTH, ...spec.errors])]),
    },
  };
}
