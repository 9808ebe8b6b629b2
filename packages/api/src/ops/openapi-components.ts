import {
  CONNECTION_STRING_MAX_LENGTH,
  ConnectionPageSchema,
  ConnectionSchema,
  ConnectionSchemaResponseSchema,
  ConnectionTypeSchema,
  CreateConnectionRequestSchema,
  CreateWebhookInputSchema,
  ERROR_CODES,
  type ErrorCode,
  HistoryPageSchema,
  SchemaValidationErrorSchema,
  SslModeSchema,
  TestResultSchema,
  TestSettingsRequestSchema,
  UpdateConnectionRequestSchema,
  UpdateWebhookInputSchema,
  ValidateSchemaInputSchema,
  ValidateSchemaResultSchema,
  WebhookDeliveryListSchema,
  WebhookListSchema,
  WebhookSchema,
  WebhookWithSecretSchema,
} from '@dbconn/shared';
import { z } from 'zod';

/** The OpenAPI document's components: the schemas (from the zod schemas), their names, the security scheme. */

export type JsonSchema = Record<string, unknown>;
/** Any other object of the document: a parameter, a response, an operation. */
export type JsonObject = Record<string, unknown>;
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
export const SECURITY_SCHEMES = {
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
export const BEARER_SECURITY = [{ bearerAuth: [] }];

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

export type ComponentName = keyof typeof INPUT_COMPONENTS | keyof typeof OUTPUT_COMPONENTS;
export const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });

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

export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return strip(
    z.toJSONSchema(schema, {
      io,
      unrepresentable: 'any',
      override: (ctx) => describeInput(ctx.zodSchema, ctx.jsonSchema, io),
    }) as JsonSchema,
  );
}

export function components(): Record<string, JsonSchema> {
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
