import { z } from 'zod';
import { MetadataSchema } from './metadata.schema.js';
import { SSL_MODES, SslInputSchema } from './ssl.schema.js';
import {
  hasIssueAt,
  isStorableText,
  isValidHost,
  STORABLE_MESSAGE,
  trimmed,
  whenObject,
} from './text-rules.js';
import { StageResultSchema, VerificationErrorSchema, VerificationSchema } from './verification.schema.js';

/** Product names as the seed defines them: alphanumerics, `_` and `-`, at most 100. */
export const PRODUCT_NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;

export const CONNECTION_TYPES = ['ORACLE', 'SQL_SERVER', 'POSTGRESQL', 'MONGODB', 'MYSQL'] as const;
export const CONNECTION_STATUSES = ['pending', 'verifying', 'active', 'failed'] as const;

export type ConnectionType = (typeof CONNECTION_TYPES)[number];
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const ConfigNameSchema = trimmed(3, 100, 'configName', { lookAlikes: 'refuse' });

export const ConnectionTypeSchema = z
  .string({ error: (i) => (i.input === undefined ? 'type is required' : 'type must be a string') })
  .trim()
  .toUpperCase()
  .pipe(z.enum(CONNECTION_TYPES, { error: `type must be one of ${CONNECTION_TYPES.join(', ')}` }));

export const HostSchema = z
  .string({ error: (i) => (i.input === undefined ? 'host is required' : 'host must be a string') })
  .trim()
  .min(1, 'host must not be empty')
  .max(253, 'host must be at most 253 characters')
  .refine(isValidHost, 'host must be a DNS name or an IP address, without scheme, port or path');

export const PortSchema = z
  .number({ error: (i) => (i.input === undefined ? 'port is required' : 'port must be an integer') })
  .int('port must be an integer')
  .min(1, 'port must be between 1 and 65535')
  .max(65535, 'port must be between 1 and 65535');

export const DatabaseNameSchema = trimmed(1, 128, 'databaseName', { lookAlikes: 'refuse' });
export const UserNameSchema = trimmed(1, 128, 'userName', { lookAlikes: 'refuse' });
export const SchemaNameSchema = trimmed(1, 128, 'schema');

export const PasswordSchema = z
  .string({ error: (i) => (i.input === undefined ? 'password is required' : 'password must be a string') })
  .min(1, 'password must not be empty')
  .max(1024, 'password must be at most 1024 characters')
  .refine(isStorableText, STORABLE_MESSAGE('password'));

export const ProductNameSchema = z
  .string({ error: 'productName must be a string' })
  .trim()
  .min(1, 'productName must not be empty')
  .max(100, 'productName must be at most 100 characters')
  .regex(PRODUCT_NAME_PATTERN, 'productName may contain only letters, digits, _ and -')
  .toLowerCase();

/**
 * `Idempotency-Key` of a create (REST header, tRPC field `idempotencyKey`): 1–255 printable ASCII
 * characters (space to `~`), like the keys clients generate (UUIDs, request ids).
 */
export const IdempotencyKeySchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .regex(/^[\x20-\x7e]*$/, 'may contain only printable ASCII characters (space to ~)');

/** The create body (seed). `productName` comes from the X-Product-Name header on REST. */
export const CreateConnectionInputSchema = z.strictObject(
  {
    configName: ConfigNameSchema,
    type: ConnectionTypeSchema,
    host: HostSchema,
    port: PortSchema,
    databaseName: DatabaseNameSchema,
    userName: UserNameSchema,
    password: PasswordSchema,
    schema: SchemaNameSchema.optional(),
    ssl: SslInputSchema.optional(),
    metadata: MetadataSchema.optional(),
  },
  { error: 'the body must be a JSON object' },
);
export type CreateConnectionInput = z.output<typeof CreateConnectionInputSchema>;

/**
 * The PATCH body: every create field optional with the same rules. An omitted or empty password
 * keeps the stored one; `ssl: null` removes SSL (and `schema: null` goes back to the engine's
 * default); `metadata` replaces the whole map. `productName` cannot change here (see assign).
 */
export const UpdateConnectionInputSchema = z.strictObject(
  {
    configName: ConfigNameSchema.optional(),
    type: ConnectionTypeSchema.optional(),
    host: HostSchema.optional(),
    port: PortSchema.optional(),
    databaseName: DatabaseNameSchema.optional(),
    userName: UserNameSchema.optional(),
    password: z.union([z.literal(''), PasswordSchema], { error: 'password must be a string' }).optional(),
    schema: SchemaNameSchema.nullable().optional(),
    ssl: SslInputSchema.nullable().optional(),
    metadata: MetadataSchema.optional(),
  },
  { error: 'the body must be a JSON object' },
);
export type UpdateConnectionInput = z.output<typeof UpdateConnectionInputSchema>;

/**
 * A connection id, lower-cased: ids are stored lower-case, and one spelling per connection keeps
 * rate-limit keys, job data and pub/sub channels from splitting by the letter case a caller sent.
 */
export const IdSchema = z.uuid({ error: 'id must be a UUID' }).toLowerCase();

// ---- the resource (docs/contract.md §1) ----

export const ConnectionSchema = z.object({
  id: z.uuid(),
  configName: z.string(),
  productName: z.string().optional(),
  type: z.enum(CONNECTION_TYPES),
  host: z.string(),
  port: z.number().int(),
  databaseName: z.string(),
  userName: z.string(),
  schema: z.string().optional(),
  ssl: z.object({ mode: z.enum(SSL_MODES) }).optional(),
  metadata: z.record(z.string(), z.string()),
  connectionUrl: z.string().meta({
    description:
      'the canonical connection string of this connection, without its password (docs/contract.md §12); accepted back as connectionString',
  }),
  status: z.enum(CONNECTION_STATUSES),
  verification: VerificationSchema.optional(),
  lastVerifiedAt: z.iso.datetime().optional(),
  version: z.number().int().positive(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  createdBy: z.string().optional().meta({
    description: 'who created it: the token’s subject (`<owner>/<sub>` or `sub`); absent when auth was off',
  }),
  updatedBy: z.string().optional().meta({
    description:
      'who made the last change through the API (update, assign): the token’s subject; absent when auth was off for it',
  }),
  lastStatusChangeAt: z.iso.datetime().optional().meta({
    description:
      'when a verification last changed the settled status (first result, active → failed, failed → active); absent until the first result',
  }),
  availability: z.number().min(0).max(1).nullable().meta({
    description:
      'share of verifications that passed over the last 30 days (0–1), from the history; null when there was none',
  }),
});
export type Connection = z.infer<typeof ConnectionSchema>;

// ---- test now / try before save (docs/contract.md §2) ----

/**
 * POST /test: settings to try without storing them. Without `id` every dialled field of create is
 * required; with `id` the stored connection is the base and only the given fields change (to try a
 * new password before rotating it). `configName` is accepted and ignored, so a create body can be
 * tried as it is.
 */
export const TestSettingsInputSchema = UpdateConnectionInputSchema.extend({
  id: IdSchema.optional(),
}).superRefine((input, ctx) => {
  // Runs even when another field is bad (whenObject), so `{"port": "x"}` names port and every
  // missing field at once. A field that already has its own issue is not reported again.
  if (input.id !== undefined) return;
  for (const field of ['type', 'host', 'port', 'databaseName', 'userName', 'password'] as const) {
    if (hasIssueAt(ctx, field)) continue;
    if (input[field] === undefined || input[field] === '') {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `${field} is required (or give the id of a stored connection)`,
      });
    }
  }
}, whenObject);
export type TestSettingsInput = z.output<typeof TestSettingsInputSchema>;

/** The answer of a test (stored connection or unsaved settings). */
export const TestResultSchema = z.object({
  status: z.enum(['success', 'failure']),
  message: z.string(),
  latencyMs: z.number().nonnegative(),
  checkedAt: z.iso.datetime(),
  stages: z.array(StageResultSchema),
  error: VerificationErrorSchema.optional(),
  warnings: VerificationSchema.shape.warnings,
  server: VerificationSchema.shape.server,
});
export type TestResult = z.infer<typeof TestResultSchema>;
