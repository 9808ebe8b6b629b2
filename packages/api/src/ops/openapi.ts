import { readFileSync } from 'node:fs';
import {
  CONNECTION_STRING_MAX_LENGTH,
  ConnectionPageSchema,
  ConnectionSchema,
  ConnectionSchemaResponseSchema,
  ConnectionTypeSchema,
  CreateConnectionRequestSchema,
  CreateWebhookInputSchema,
  ERROR_CATALOGUE,
  ERROR_CODES,
  type ErrorCode,
  HistoryPageSchema,
  HistoryQuerySchema,
  IdempotencyKeySchema,
  IdSchema,
  ProductNameSchema,
  RestListConnectionsQuerySchema,
  SchemaValidationErrorSchema,
  SslModeSchema,
  TestResultSchema,
  TestSettingsRequestSchema,
  UpdateConnectionRequestSchema,
  UpdateWebhookInputSchema,
  ValidateSchemaInputSchema,
  ValidateSchemaResultSchema,
  WebhookDeliveriesQuerySchema,
  WebhookDeliveryListSchema,
  WebhookListSchema,
  WebhookSchema,
  WebhookWithSecretSchema,
} from '@dbconn/shared';
import { z } from 'zod';
import { CONNECTIONS_PATH } from '../rest/connections.rest.js';
import { IfMatchSchema } from '../rest/request.js';
import { WEBHOOKS_PATH } from '../rest/webhooks.rest.js';

/**
 * The OpenAPI 3.1 document of the REST door and the probes, generated from the zod schemas the
 * routes parse with (request bodies and parameters as zod reads them, responses as the service
 * writes them), so the document cannot drift from a field rule.
 */

type JsonSchema = Record<string, unknown>;
/** Any other object of the document: a parameter, a response, an operation. */
type JsonObject = Record<string, unknown>;
type Method = 'get' | 'post' | 'patch' | 'delete';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, Partial<Record<Method, JsonObject>>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonObject> };
}

/**
 * The bearer token of docs/contract.md §8. Every `/v1` operation names it; the probes opt out. The
 * document is the same whether a deployment turns auth on or not (it describes the API, not one
 * deployment's settings), so the description says when the token is asked for.
 */
const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      '`Authorization: Bearer <token>`, a JWT issued by the platform. Asked for when auth is on ' +
      '(always in production): PLUGIN_AUTH_ENABLED (the Access Manager decides each call) and/or a ' +
      'key source (AUTH_JWKS_URL, AUTH_JWT_VERIFY_CERT, AUTH_JWT_SECRET: the token is verified here). ' +
      'With MULTI_TENANT_ENABLED its tenantId claim names the organization. 401 UNAUTHENTICATED ' +
      '(missing or invalid token), 403 FORBIDDEN or TENANT_REQUIRED, 503 AUTH_UNAVAILABLE (the ' +
      'Access Manager or the JWKS could not decide; fail closed).',
  },
} as const;
const BEARER_SECURITY = [{ bearerAuth: [] }];

/** The problem body of every error (RFC 9457), one `code` per catalogue entry. */
export const FieldErrorSchema = z.object({
  field: z.string().meta({ description: 'the bad field as the caller wrote it, e.g. `metadata.team`' }),
  message: z.string(),
});

export const ProblemSchema = z.looseObject({
  type: z.string().meta({ description: 'a stable URN per code, e.g. urn:dbconn:error:not-found' }),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
  requestId: z.string().meta({
    description:
      'the request id, also in the X-Request-Id header: the caller’s when valid, else made by the server',
  }),
  errors: z
    .array(z.union([FieldErrorSchema, SchemaValidationErrorSchema]))
    .optional()
    .meta({
      description:
        'VALIDATION_FAILED / INVALID_HEADER: every bad field; SCHEMA_VALIDATION_FAILED: every missing item',
    }),
});

export const HealthSchema = z.object({ status: z.literal('ok') });
export const ReadySchema = z.object({ status: z.literal('ready') });

/** Request-side schemas: converted as zod reads them (before transforms such as trim or upper-case). */
const INPUT_COMPONENTS = {
  CreateConnectionInput: CreateConnectionRequestSchema,
  UpdateConnectionInput: UpdateConnectionRequestSchema,
  TestSettingsInput: TestSettingsRequestSchema,
  ValidateSchemaInput: ValidateSchemaInputSchema,
  CreateWebhookInput: CreateWebhookInputSchema,
  UpdateWebhookInput: UpdateWebhookInputSchema,
};

/** The bodies that take `connectionString` (read into the fields before their rules run). */
const WITH_CONNECTION_STRING = new Set([
  'CreateConnectionInput',
  'UpdateConnectionInput',
  'TestSettingsInput',
]);
/** Fields a connection string can carry: not required of a body that gives one. */
const CARRIED_BY_STRING = new Set(['type', 'host', 'port', 'databaseName', 'userName', 'password']);

const CONNECTION_STRING_PROPERTY: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: CONNECTION_STRING_MAX_LENGTH,
  writeOnly: true,
  description:
    'In place of (or beside) the fields it carries: postgres(ql)://, jdbc:postgresql://, mysql://, mariadb://, ' +
    'jdbc:mysql://, sqlserver://, jdbc:sqlserver://, the ADO.NET form (Server=tcp:host,1433;…), ' +
    'jdbc:oracle:thin:@//host:port/service, Oracle Easy Connect (host:port/service), mongodb://, mongodb+srv://. ' +
    'Read into the fields before their rules apply; a field given both ways with different values is a 400 ' +
    'naming both. Never stored, logged or echoed; its password is sealed like the password field.',
};

/**
 * zod documents a preprocessed body as the object it checks after the string is read, so the
 * document adds `connectionString` and drops the requirement of the fields the string can carry.
 */
function documentConnectionString(id: string, schema: JsonSchema): JsonSchema {
  if (!WITH_CONNECTION_STRING.has(id)) return schema;
  const properties = { ...(schema.properties as Record<string, JsonSchema>) };
  properties.connectionString = CONNECTION_STRING_PROPERTY;
  const required = (schema.required as string[] | undefined)?.filter((f) => !CARRIED_BY_STRING.has(f));
  const { required: _r, ...rest } = schema;
  return {
    ...rest,
    properties,
    ...(required && required.length > 0 ? { required } : {}),
    ...(required !== undefined
      ? {
          description:
            'type, host, port, databaseName, userName and password are required unless connectionString carries them',
        }
      : {}),
  };
}

/** Response-side schemas: converted as the service writes them. */
const OUTPUT_COMPONENTS = {
  Connection: ConnectionSchema,
  ConnectionPage: ConnectionPageSchema,
  TestResult: TestResultSchema,
  ConnectionSchemaResponse: ConnectionSchemaResponseSchema,
  ValidateSchemaResult: ValidateSchemaResultSchema,
  HistoryPage: HistoryPageSchema,
  Webhook: WebhookSchema,
  WebhookWithSecret: WebhookWithSecretSchema,
  WebhookList: WebhookListSchema,
  WebhookDeliveryList: WebhookDeliveryListSchema,
  SchemaValidationError: SchemaValidationErrorSchema,
  FieldError: FieldErrorSchema,
  Problem: ProblemSchema,
  Health: HealthSchema,
  Ready: ReadySchema,
};

type ComponentName = keyof typeof INPUT_COMPONENTS | keyof typeof OUTPUT_COMPONENTS;
const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });

/**
 * Inputs whose JSON Schema is only "a string" because zod normalises them before checking; the
 * document says what is accepted.
 */
const INPUT_DESCRIPTIONS = new Map<z.ZodType, string>([
  [
    ConnectionTypeSchema,
    'ORACLE, SQL_SERVER, POSTGRESQL, MONGODB or MYSQL, in any letter case (returned upper-case)',
  ],
  [
    SslModeSchema,
    'disable, prefer, require, verify-ca or verify-full (libpq meaning); engine spellings such as ' +
      'true, false, preferred, skip-verify, strict, insecure are accepted and normalised',
  ],
]);

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return strip(
    z.toJSONSchema(schema, {
      io,
      unrepresentable: 'any',
      override: (ctx) => describeInput(ctx.zodSchema, ctx.jsonSchema, io),
    }) as JsonSchema,
  );
}

function components(): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const [io, table] of [
    ['input', INPUT_COMPONENTS],
    ['output', OUTPUT_COMPONENTS],
  ] as const) {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of Object.entries(table)) registry.add(schema, { id });
    const { schemas } = z.toJSONSchema(registry, {
      io,
      unrepresentable: 'any',
      uri: (id) => `#/components/schemas/${id}`,
      override: (ctx) => describeInput(ctx.zodSchema, ctx.jsonSchema, io),
    });
    for (const [id, schema] of Object.entries(schemas))
      out[id] = documentConnectionString(id, strip(schema as JsonSchema));
  }
  return out;
}

function describeInput(schema: unknown, json: JsonSchema, io: 'input' | 'output'): void {
  const description = io === 'input' ? INPUT_DESCRIPTIONS.get(schema as z.ZodType) : undefined;
  if (description) json.description = description;
}

/** `$schema`/`$id` belong to standalone schemas, not to OpenAPI components. */
function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

// ---- parameters ----

const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'the connection id',
  schema: toJsonSchema(IdSchema, 'input'),
};

const productHeader = (required: boolean, description: string) => ({
  name: 'X-Product-Name',
  in: 'header',
  required,
  description: `${description} Trimmed, then matched against the pattern, at most 100 characters, lower-cased.`,
  schema: toJsonSchema(ProductNameSchema, 'input'),
});

const ifMatchHeader = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description:
    'The version the change is based on (the ETag of a GET: `"3"`, `W/"3"` or `3`). A stale one answers 412 VERSION_MISMATCH; `*` only asks that the connection exists.',
  schema: toJsonSchema(IfMatchSchema, 'input'),
};

const idempotencyKeyHeader = {
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
function listParameters(): JsonObject[] {
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
function historyParameters(): JsonObject[] {
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

const header = (description: string, schema: JsonSchema = { type: 'string' }) => ({ description, schema });
const ETAG = header('the connection version as an entity tag, for If-Match');
const RETRY_AFTER = header('seconds to wait before retrying', { type: 'integer', minimum: 0 });
/** Rate limited, a dependency down, no worker in time: each answer says when to try again. */
const RETRY_AFTER_STATUSES = new Set([429, 503, 504]);
/** RFC 6750: `Bearer` without a token, `Bearer error="invalid_token"` for one that does not verify. */
const WWW_AUTHENTICATE = header('`Bearer`, or `Bearer error="invalid_token"` when the token was refused');

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

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
const ALWAYS: ErrorCode[] = [
  'MALFORMED_REQUEST',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  'INTERNAL',
  'UNAVAILABLE',
];
/** Answers of a request whose body Fastify parses (POST, PATCH, DELETE); a broken one is MALFORMED_REQUEST. */
const BODY: ErrorCode[] = ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
/** Answers of access control (docs/contract.md §8), on every `/v1` operation when auth is on. */
const AUTH: ErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'TENANT_REQUIRED', 'AUTH_UNAVAILABLE'];
/** Answers of work that goes through the worker (interactive queue) and the rate limiter. */
const WORKER: ErrorCode[] = ['RATE_LIMITED', 'WORKER_TIMEOUT'];

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
function operation(spec: OperationSpec): JsonObject {
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

const SCOPED = 'Optional: when sent, only that product’s connections are visible (others answer 404).';

function paths(): OpenApiDocument['paths'] {
  const base = CONNECTIONS_PATH;
  const byId = `${base}/{id}`;
  const scoped = productHeader(false, SCOPED);
  return {
    [base]: {
      post: operation({
        operationId: 'createConnection',
        summary: 'Create a connection',
        description:
          'Stores the connection (secrets sealed) with status `pending` and enqueues its verification.',
        parameters: [
          productHeader(true, 'Required: the product the connection belongs to.'),
          idempotencyKeyHeader,
        ],
        body: 'CreateConnectionInput',
        success: {
          status: 201,
          description: 'created',
          schema: 'Connection',
          headers: { Location: header('the new connection’s URL'), ETag: ETAG },
        },
        // RATE_LIMITED: creates that enqueue a dial are limited per organization.
        errors: [
          'VALIDATION_FAILED',
          'INVALID_HEADER',
          'CONFIG_NAME_TAKEN',
          'IDEMPOTENCY_KEY_IN_PROGRESS',
          'IDEMPOTENCY_KEY_REUSED',
          'RATE_LIMITED',
          ...BODY,
          ...ALWAYS,
        ],
      }),
      get: operation({
        operationId: 'listConnections',
        summary: 'List connections',
        parameters: [...listParameters(), productHeader(false, 'Optional: only this product’s connections.')],
        success: { status: 200, description: 'one page', schema: 'ConnectionPage' },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', ...ALWAYS],
      }),
    },
    [`${base}/unassigned`]: {
      get: operation({
        operationId: 'listUnassignedConnections',
        summary: 'List connections without a product',
        parameters: [
          ...listParameters(),
          productHeader(
            false,
            'Checked when sent, but not a filter here: these connections have no product.',
          ),
        ],
        success: { status: 200, description: 'one page', schema: 'ConnectionPage' },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', ...ALWAYS],
      }),
    },
    [byId]: {
      get: operation({
        operationId: 'getConnection',
        summary: 'Get a connection',
        parameters: [idParameter, scoped],
        success: {
          status: 200,
          description: 'the connection',
          schema: 'Connection',
          headers: { ETag: ETAG },
        },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...ALWAYS],
      }),
      patch: operation({
        operationId: 'updateConnection',
        summary: 'Update a connection (partial)',
        description:
          'Absent fields are unchanged; an omitted or empty password keeps the stored one; `ssl: null` removes SSL; `metadata` replaces the map. A change to what is dialled sends the connection back to `pending`.',
        parameters: [idParameter, scoped, ifMatchHeader],
        body: 'UpdateConnectionInput',
        success: {
          status: 200,
          description: 'the updated connection',
          schema: 'Connection',
          headers: { ETag: ETAG },
        },
        errors: [
          'VALIDATION_FAILED',
          'INVALID_HEADER',
          'NOT_FOUND',
          'CONFIG_NAME_TAKEN',
          'VERSION_MISMATCH',
          'RATE_LIMITED',
          ...BODY,
          ...ALWAYS,
        ],
      }),
      delete: operation({
        operationId: 'deleteConnection',
        summary: 'Delete a connection (soft; the name becomes free again)',
        parameters: [idParameter, scoped],
        success: { status: 204, description: 'deleted' },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...BODY, ...ALWAYS],
      }),
    },
    [`${byId}/test`]: {
      post: operation({
        operationId: 'testConnection',
        summary: 'Verify a stored connection now',
        description: 'Runs the verification in the worker, waits for it (bounded) and records the result.',
        parameters: [idParameter, scoped],
        success: {
          status: 200,
          description: 'the result (a failed check is still a 200)',
          schema: 'TestResult',
        },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...WORKER, ...BODY, ...ALWAYS],
      }),
    },
    [`${base}/test`]: {
      post: operation({
        operationId: 'testSettings',
        summary: 'Verify settings that are not stored',
        description:
          'A full create body (try before save), or `{"id": ..., <fields that change>}` to try e.g. a new password on a stored connection. Nothing is stored.',
        parameters: [scoped],
        body: 'TestSettingsInput',
        success: {
          status: 200,
          description: 'the result (a failed check is still a 200)',
          schema: 'TestResult',
        },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...WORKER, ...BODY, ...ALWAYS],
      }),
    },
    [`${byId}/schema`]: {
      get: operation({
        operationId: 'getConnectionSchema',
        summary: 'Tables and fields of a connection',
        description: 'Discovered by the worker; cached per connection version.',
        parameters: [idParameter, scoped],
        success: { status: 200, description: 'the tables, sorted', schema: 'ConnectionSchemaResponse' },
        errors: [
          'VALIDATION_FAILED',
          'INVALID_HEADER',
          'NOT_FOUND',
          'DATA_SOURCE_DOWN',
          ...WORKER,
          ...ALWAYS,
        ],
      }),
    },
    [`${base}/validate-schema`]: {
      post: operation({
        operationId: 'validateSchema',
        summary: 'Check that mapped tables and fields exist',
        parameters: [scoped],
        body: 'ValidateSchemaInput',
        success: { status: 200, description: 'everything exists', schema: 'ValidateSchemaResult' },
        errors: [
          'VALIDATION_FAILED',
          'INVALID_HEADER',
          'SCHEMA_VALIDATION_FAILED',
          ...WORKER,
          ...BODY,
          ...ALWAYS,
        ],
      }),
    },
    [`${byId}/history`]: {
      get: operation({
        operationId: 'getConnectionHistory',
        summary: 'What happened to a connection, newest first',
        description:
          'Changes (created, updated with the names of the fields that changed — never values, assigned, deleted) with the subject that made them, and every verification outcome with its reason (created, changed, periodic, test, sweeper). Kept HISTORY_RETENTION_DAYS (90 by default). A deleted connection’s history stays readable; another organization’s answers 404.',
        parameters: [idParameter, ...historyParameters(), scoped],
        success: { status: 200, description: 'one page', schema: 'HistoryPage' },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...ALWAYS],
      }),
    },
    [`${byId}/assign`]: {
      post: operation({
        operationId: 'assignConnection',
        summary: 'Give an unassigned connection a product (once)',
        parameters: [idParameter, productHeader(true, 'Required: the product to assign.')],
        success: {
          status: 200,
          description: 'the assigned connection',
          schema: 'Connection',
          headers: { ETag: ETAG },
        },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', 'ALREADY_ASSIGNED', ...BODY, ...ALWAYS],
      }),
    },
    ...webhookPaths(),
    '/health': {
      get: operation({
        operationId: 'health',
        summary: 'The process is up',
        tag: 'operations',
        success: { status: 200, description: 'up', schema: 'Health' },
        errors: ['INTERNAL'],
      }),
    },
    '/ready': {
      get: operation({
        operationId: 'ready',
        summary: 'The store and Redis answer',
        tag: 'operations',
        success: { status: 200, description: 'ready', schema: 'Ready' },
        errors: ['UNAVAILABLE', 'INTERNAL'],
      }),
    },
  };
}

/** Webhooks (docs/contract.md §11): per organization, signed per Standard Webhooks. */
function webhookPaths(): OpenApiDocument['paths'] {
  const base = WEBHOOKS_PATH;
  const byId = `${base}/{id}`;
  const webhookId = { ...idParameter, description: 'the webhook id' };
  const tag = 'webhooks' as const;
  return {
    [base]: {
      post: operation({
        operationId: 'createWebhook',
        summary: 'Register a webhook endpoint',
        description:
          'Answers the signing secret (`whsec_…`) this once. Deliveries are POSTs from the worker (through the egress policy) with the Standard Webhooks headers `webhook-id`, `webhook-timestamp` and `webhook-signature`.',
        tag,
        body: 'CreateWebhookInput',
        success: {
          status: 201,
          description: 'created, with its secret',
          schema: 'WebhookWithSecret',
          headers: { Location: header('the new webhook’s URL') },
        },
        errors: ['VALIDATION_FAILED', ...BODY, ...ALWAYS],
      }),
      get: operation({
        operationId: 'listWebhooks',
        summary: 'The organization’s webhook endpoints',
        tag,
        success: { status: 200, description: 'every endpoint', schema: 'WebhookList' },
        errors: [...ALWAYS],
      }),
    },
    [byId]: {
      get: operation({
        operationId: 'getWebhook',
        summary: 'One webhook endpoint (whether it is turned off, and why)',
        tag,
        parameters: [webhookId],
        success: { status: 200, description: 'the endpoint', schema: 'Webhook' },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...ALWAYS],
      }),
      patch: operation({
        operationId: 'updateWebhook',
        summary: 'Change an endpoint; `enabled: true` turns it on again',
        tag,
        parameters: [webhookId],
        body: 'UpdateWebhookInput',
        success: { status: 200, description: 'the endpoint', schema: 'Webhook' },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...BODY, ...ALWAYS],
      }),
      delete: operation({
        operationId: 'deleteWebhook',
        summary: 'Remove an endpoint',
        tag,
        parameters: [webhookId],
        success: { status: 204, description: 'deleted' },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...BODY, ...ALWAYS],
      }),
    },
    [`${byId}/rotate-secret`]: {
      post: operation({
        operationId: 'rotateWebhookSecret',
        summary: 'A new signing secret; the old one keeps signing beside it for 24 h',
        tag,
        parameters: [webhookId],
        success: {
          status: 200,
          description: 'the endpoint with its new secret',
          schema: 'WebhookWithSecret',
        },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...BODY, ...ALWAYS],
      }),
    },
    [`${byId}/deliveries`]: {
      get: operation({
        operationId: 'listWebhookDeliveries',
        summary: 'Delivery attempts, newest first',
        tag,
        parameters: [
          webhookId,
          {
            name: 'limit',
            in: 'query',
            required: false,
            description: 'attempts to list, 1–100 (default 20)',
            schema: (
              toJsonSchema(WebhookDeliveriesQuerySchema, 'input').properties as Record<string, JsonSchema>
            ).limit,
          },
        ],
        success: { status: 200, description: 'the attempts', schema: 'WebhookDeliveryList' },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...ALWAYS],
      }),
    },
  };
}

function packageVersion(): string {
  // src/ops and dist/ops are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

export function buildOpenApiDocument(): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'dbconn — database connections',
      version: packageVersion(),
      description:
        'Register database connections; a worker verifies each one (dns, tcp, tls, auth, database, schema). ' +
        'Errors are application/problem+json with a stable `code`. Internal TypeScript apps can use the tRPC router at /trpc instead.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'connections', description: 'the management API (REST)' },
      { name: 'webhooks', description: 'signed notifications of connection status changes' },
      { name: 'operations', description: 'probes' },
    ],
    paths: paths(),
    components: { schemas: components(), securitySchemes: SECURITY_SCHEMES },
  };
}

/** Fastify's `/a/:id/b` as OpenAPI's `/a/{id}/b`. */
export const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
