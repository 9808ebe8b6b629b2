import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { STAGE_NAMES, VERIFICATION_CODE_NAMES } from './verification-codes.js';
import { WARNING_CODES, WarningSchema } from './warnings.js';

export const CONNECTION_TYPES = ['ORACLE', 'SQL_SERVER', 'POSTGRESQL', 'MONGODB', 'MYSQL'] as const;
export const CONNECTION_STATUSES = ['pending', 'verifying', 'active', 'failed'] as const;
export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

export type ConnectionType = (typeof CONNECTION_TYPES)[number];
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];
export type SslMode = (typeof SSL_MODES)[number];

/**
 * Engine-native spellings accepted for `ssl.mode`, normalised to libpq's vocabulary (docs/contract.md §5).
 * MySQL (Go driver / ssl-mode), SQL Server (`encrypt=`) and MongoDB (`tls=`) spellings.
 */
export const SSL_MODE_ALIASES: Record<string, SslMode> = {
  disable: 'disable',
  disabled: 'disable',
  false: 'disable',
  prefer: 'prefer',
  preferred: 'prefer',
  require: 'require',
  required: 'require',
  'skip-verify': 'require',
  insecure: 'require',
  'verify-ca': 'verify-ca',
  verify_ca: 'verify-ca',
  'verify-full': 'verify-full',
  verify_identity: 'verify-full',
  true: 'verify-full',
  strict: 'verify-full',
};

const CONTROL_CHARS = /\p{Cc}/u;
/**
 * What no stored or filtered string may hold: NUL (PostgreSQL text and jsonb refuse it) and a lone
 * surrogate (ill-formed UTF-16: it has no UTF-8 form, so a driver would replace it silently or the
 * store would refuse it). With the `u` flag a well-formed pair is one code point, never `Cs`.
 */
const LONE_SURROGATE = /\p{Cs}/u;
/**
 * Format and separator characters (bidi overrides, zero-width spaces, line/paragraph separators)
 * that make two different names look alike; refused in the names people read and in metadata.
 */
const LOOK_ALIKE = /[\p{Cf}\p{Zl}\p{Zp}]/u;

/** Whether a string can be stored and compared as it was sent (no NUL, no lone surrogate). */
export const isStorableText = (value: string) => !value.includes('\u0000') && !LONE_SURROGATE.test(value);
/** Whether a string is free of invisible format and separator characters. */
export const hasNoLookAlikes = (value: string) => !LOOK_ALIKE.test(value);

const STORABLE_MESSAGE = (what: string) =>
  `${what} must be well-formed text: no NUL character and no lone surrogate (ill-formed UTF-16)`;
const LOOK_ALIKE_MESSAGE = (what: string) =>
  `${what} must not contain invisible format or separator characters (bidi overrides, zero-width spaces, line separators)`;

/** Any string the service keeps or compares: refuses NUL and lone surrogates, naming `what`. */
export const storableString = (what: string, error?: string) =>
  z.string(error === undefined ? undefined : { error }).refine(isStorableText, STORABLE_MESSAGE(what));
const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
/** Product names as the seed defines them: alphanumerics, `_` and `-`, at most 100. */
export const PRODUCT_NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;
const PEM_MAX_BYTES = 64 * 1024;
const METADATA_MAX_KEYS = 50;
const METADATA_KEY_MAX = 100;
const METADATA_VALUE_MAX = 2000;

/**
 * `when` for an object-level check: run it whenever the input was an object, even if some field
 * already failed, so one answer names every bad field (docs/contract.md §4). By default zod skips refinements
 * after any aborting issue, e.g. a type error in an unrelated field. A non-object input keeps its
 * raw value here and has its own issue, so the check does not run on it.
 */
const whenObject = { when: (payload: z.core.ParsePayload) => z.core.util.isPlainObject(payload.value) };

/**
 * A record's keys checked for NUL and lone surrogates. The issue is on the record itself: naming
 * the key would echo the characters refused (zod's own key check would name it that way).
 */
const refuseUnstorableKeys =
  (what: string) =>
  (record: Record<string, unknown>, ctx: z.core.$RefinementCtx<Record<string, unknown>>) => {
    if (Object.keys(record).some((key) => !isStorableText(key))) {
      ctx.addIssue({ code: 'custom', path: [], message: STORABLE_MESSAGE(what) });
    }
  };

/** Whether zod already reported something at `key` of the object being checked. */
const hasIssueAt = (ctx: { issues: readonly z.core.$ZodRawIssue[] }, key: string) =>
  ctx.issues.some((issue) => issue.path?.[0] === key);

/** RFC 1123 host name (≤253, labels ≤63, no leading/trailing hyphen) or an IPv4/IPv6 literal. */
export function isValidHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  // An all-numeric dotted name that is not a valid IPv4 address (e.g. 300.1.1.1) is a typo, not a host.
  if (labels.every((l) => /^\d+$/.test(l))) return false;
  return labels.every((label) => HOST_LABEL.test(label));
}

/**
 * A trimmed text field. Unstorable and (for names people read) look-alike characters are refused
 * before trimming, so one at either end is an error, not silently cut off.
 */
const trimmed = (min: number, max: number, what: string, options: { lookAlikes?: 'refuse' } = {}) =>
  z
    .string({ error: (i) => (i.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .refine(isStorableText, STORABLE_MESSAGE(what))
    .refine((v) => options.lookAlikes !== 'refuse' || hasNoLookAlikes(v), LOOK_ALIKE_MESSAGE(what))
    .trim()
    .min(min, min === 1 ? `${what} must not be empty` : `${what} must be at least ${min} characters`)
    .max(max, `${what} must be at most ${max} characters`)
    .refine((v) => !CONTROL_CHARS.test(v), `${what} must not contain control characters`);

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

export const SslModeSchema = z
  .string({ error: (i) => (i.input === undefined ? 'ssl.mode is required' : 'ssl.mode must be a string') })
  .trim()
  .toLowerCase()
  .refine((m) => m in SSL_MODE_ALIASES, {
    error: `ssl.mode must be one of ${SSL_MODES.join(', ')} (or an engine alias: ${Object.keys(
      SSL_MODE_ALIASES,
    )
      .filter((a) => !(SSL_MODES as readonly string[]).includes(a))
      .join(', ')})`,
  })
  .transform((m) => SSL_MODE_ALIASES[m] as SslMode);

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/** Why `text` is not one or more parseable certificates (`ssl.ca` may be a bundle), or undefined. */
function certificateProblem(text: string): string | undefined {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0)
    return 'must be PEM text (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)';
  for (const [block, label] of blocks) {
    if (label !== 'CERTIFICATE') return `must hold certificates only (found ${label})`;
    try {
      new X509Certificate(block);
    } catch {
      return 'holds a certificate that does not parse (damaged or truncated PEM)';
    }
  }
  return undefined;
}

/** Why `text` is not an unencrypted private key, or undefined. */
function privateKeyProblem(text: string): string | undefined {
  try {
    createPrivateKey({ key: text, format: 'pem' });
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === 'ERR_MISSING_PASSPHRASE'
      ? 'is an encrypted private key; give it unencrypted (it is sealed at rest)'
      : 'must be a PEM private key that parses (damaged or truncated PEM)';
  }
}

/**
 * PEM material, parsed at input (node's X509Certificate / createPrivateKey): a certificate or key
 * that does not parse is a 400 naming the field, not a TLS failure at the next verification.
 */
const pem = (what: string, problemOf: (text: string) => string | undefined) =>
  z
    .string({ error: `${what} must be a string of PEM text` })
    .refine(isStorableText, { error: STORABLE_MESSAGE(what), abort: true })
    .refine((v) => Buffer.byteLength(v) <= PEM_MAX_BYTES, {
      error: `${what} must be at most 64 KiB`,
      abort: true,
    })
    .superRefine((v, ctx) => {
      const problem = problemOf(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `${what} ${problem}` });
    });

export const SslInputSchema = z
  .strictObject(
    {
      mode: SslModeSchema,
      ca: pem('ssl.ca', certificateProblem).optional(),
      cert: pem('ssl.cert', certificateProblem).optional(),
      key: pem('ssl.key', privateKeyProblem).optional(),
    },
    { error: 'ssl must be an object' },
  )
  .superRefine((ssl, ctx) => {
    if ((ssl.cert === undefined) !== (ssl.key === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [ssl.cert === undefined ? 'cert' : 'key'],
        message: 'ssl.cert and ssl.key must be given together',
      });
    }
  }, whenObject);

/**
 * `metadata` (docs/contract.md §4): a flat object of at most 50 entries, keys 1–100 characters, values strings of
 * at most 2000. The record itself only insists on an object of strings (a nested value is named by
 * its key); the limits are one check that runs even when some value has the wrong type, so every
 * bad key, every bad value and the key count are reported together. A bad key is named
 * `metadata.<key>`, an empty one `metadata`. The JSON Schema still states the limits.
 */
export const MetadataSchema = z
  .record(
    z.string(),
    z.string({ error: 'metadata values must be strings (no nested objects, arrays, numbers or null)' }),
    { error: 'metadata must be an object of string values' },
  )
  .superRefine((metadata, ctx) => {
    const keys = Object.keys(metadata);
    for (const key of keys) {
      // A key that cannot be stored or looks like another is named by its map: echoing it as a
      // field name would carry the very characters that are refused.
      if (!isStorableText(key) || !hasNoLookAlikes(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: isStorableText(key)
            ? LOOK_ALIKE_MESSAGE('metadata keys')
            : STORABLE_MESSAGE('metadata keys'),
        });
        continue;
      }
      if (key.length === 0 || key.length > METADATA_KEY_MAX) {
        ctx.addIssue({
          code: 'custom',
          path: key.length === 0 ? [] : [key],
          message: `metadata keys must be 1–${METADATA_KEY_MAX} characters (got ${
            key.length === 0 ? 'an empty key' : key.length
          })`,
        });
      }
      const value = metadata[key];
      if (typeof value === 'string' && (!isStorableText(value) || !hasNoLookAlikes(value))) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: isStorableText(value)
            ? LOOK_ALIKE_MESSAGE('metadata values')
            : STORABLE_MESSAGE('metadata values'),
        });
      }
      if (typeof value === 'string' && value.length > METADATA_VALUE_MAX) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `metadata values must be at most ${METADATA_VALUE_MAX} characters (got ${value.length})`,
        });
      }
    }
    if (keys.length > METADATA_MAX_KEYS) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `metadata must have at most ${METADATA_MAX_KEYS} keys (got ${keys.length})`,
      });
    }
  }, whenObject)
  .meta({
    propertyNames: { type: 'string', minLength: 1, maxLength: METADATA_KEY_MAX },
    additionalProperties: { type: 'string', maxLength: METADATA_VALUE_MAX },
    maxProperties: METADATA_MAX_KEYS,
  });

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

// ---- verification result (docs/contract.md §6) ----

export const StageResultSchema = z.object({
  name: z.enum(STAGE_NAMES),
  status: z.enum(['ok', 'failed', 'skipped']),
  durationMs: z.number().nonnegative(),
  code: z.enum(VERIFICATION_CODE_NAMES).optional(),
});
export type StageResult = z.infer<typeof StageResultSchema>;

export const VerificationErrorSchema = z.object({
  stage: z.enum(STAGE_NAMES),
  code: z.enum(VERIFICATION_CODE_NAMES),
  message: z.string(),
  hint: z.string(),
});
export type VerificationError = z.infer<typeof VerificationErrorSchema>;

export const VerificationSchema = z.object({
  outcome: z.enum(['passed', 'failed']),
  checkedAt: z.iso.datetime(),
  latencyMs: z.number().nonnegative(),
  attempts: z.number().int().positive().optional(),
  stages: z.array(StageResultSchema),
  error: VerificationErrorSchema.optional(),
  /** A passing verification's warnings (docs/contract.md §12); absent when there are none. */
  warnings: z.array(WarningSchema).optional(),
  server: z
    .object({
      version: z.string().optional(),
      /** The address that answered in the tcp stage (a name may resolve to several). */
      address: z.string().optional(),
      tls: z
        .object({
          version: z.string(),
          cipher: z.string(),
          certExpiresAt: z.iso.datetime().optional(),
        })
        .optional(),
    })
    .optional(),
});
export type Verification = z.infer<typeof VerificationSchema>;

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

// ---- list (docs/contract.md §2) ----

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const dateParam = (what: string) =>
  z
    .string()
    .regex(DATE, `${what} must be a date as YYYY-MM-DD`)
    .refine(
      (d) =>
        !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
      `${what} is not a real date`,
    );

/** Integers from a query string ("2") or from JSON (2); "2.5", "abc" and "" are errors. */
export const intParam = (what: string, min: number, max: number, fallback: number) =>
  z
    .union([z.number(), z.string().regex(/^\d+$/, `${what} must be an integer`).transform(Number)])
    .pipe(
      z
        .number()
        .int(`${what} must be an integer`)
        .min(min, `${what} must be between ${min} and ${max}`)
        .max(max, `${what} must be between ${min} and ${max}`),
    )
    .default(fallback);

const listFilters = {
  page: intParam('page', 1, 1_000_000, 1),
  limit: intParam('limit', 1, 100, 10),
  sortOrder: z
    .string()
    .toLowerCase()
    .pipe(z.enum(['asc', 'desc'], { error: 'sortOrder must be asc or desc' }))
    .default('desc'),
  type: ConnectionTypeSchema.optional(),
  status: z
    .enum(CONNECTION_STATUSES, { error: `status must be one of ${CONNECTION_STATUSES.join(', ')}` })
    .optional(),
  startDate: dateParam('startDate').optional(),
  endDate: dateParam('endDate').optional(),
  warning: z
    .string()
    .trim()
    .toUpperCase()
    .pipe(z.enum(WARNING_CODES, { error: `warning must be one of ${WARNING_CODES.join(', ')}` }))
    .optional(),
  metadata: z
    .record(
      z.string().min(1).max(100, 'metadata keys must be at most 100 characters'),
      storableString('metadata filter values', 'each metadata filter must be given once, as a string').max(
        2000,
      ),
    )
    .superRefine(refuseUnstorableKeys('metadata filter keys'), whenObject)
    .optional(),
};

const datesInOrder = {
  check: (q: { startDate?: string | undefined; endDate?: string | undefined }) =>
    !q.startDate || !q.endDate || q.startDate <= q.endDate,
  params: { path: ['endDate'], message: 'endDate must not be before startDate', ...whenObject },
};

/** List filters as tRPC takes them (the product is an input field). */
export const ListConnectionsQuerySchema = z
  .strictObject({ ...listFilters, productName: ProductNameSchema.optional() })
  .refine(datesInOrder.check, datesInOrder.params);

/** List filters as REST takes them in the query string (the product comes from X-Product-Name). */
export const RestListConnectionsQuerySchema = z
  .strictObject(listFilters)
  .refine(datesInOrder.check, datesInOrder.params);

export type ListConnectionsQuery = z.output<typeof ListConnectionsQuerySchema>;

export const ConnectionPageSchema = z.object({
  items: z.array(ConnectionSchema),
  page: z.number().int(),
  limit: z.number().int(),
  total: z.number().int(),
});
export type ConnectionPage = z.infer<typeof ConnectionPageSchema>;

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

// ---- schema discovery and validation (docs/contract.md §2) ----

export const ConnectionSchemaResponseSchema = z.object({
  id: z.uuid(),
  configName: z.string(),
  databaseName: z.string(),
  type: z.enum(CONNECTION_TYPES),
  schema: z.string(),
  tables: z.array(z.object({ name: z.string(), fields: z.array(z.string()) })),
});
export type ConnectionSchemaResponse = z.infer<typeof ConnectionSchemaResponseSchema>;

const limitedRecord = <T extends z.ZodType>(what: string, max: number, value: T) =>
  z
    .record(z.string().min(1, `${what} names must not be empty`).max(128), value, {
      error: `${what} must be an object`,
    })
    .superRefine(refuseUnstorableKeys(`${what} names`), whenObject)
    .refine((r) => Object.keys(r).length >= 1, {
      message: `give at least one ${what.replace(/s$/, '')}`,
      ...whenObject,
    })
    .refine((r) => Object.keys(r).length <= max, {
      message: `at most ${max} ${what} per request`,
      ...whenObject,
    });

/** POST /validate-schema: {mappedFields: {<configName>: {<table>: [field, ...]}}}; limits 10/20/50. */
export const ValidateSchemaInputSchema = z.strictObject({
  mappedFields: limitedRecord(
    'connections',
    10,
    limitedRecord(
      'tables',
      20,
      z
        .array(storableString('field names').min(1, 'field names must not be empty').max(128), {
          error: 'fields must be an array of names',
        })
        .min(1, 'give at least one field')
        .max(50, 'at most 50 fields per table'),
    ),
  ),
});
export type ValidateSchemaInput = z.output<typeof ValidateSchemaInputSchema>;

export const SCHEMA_VALIDATION_ERROR_TYPES = [
  'DATA_SOURCE_NOT_FOUND',
  'DATA_SOURCE_DOWN',
  'TABLE_NOT_FOUND',
  'FIELD_NOT_FOUND',
] as const;

export const SchemaValidationErrorSchema = z.object({
  type: z.enum(SCHEMA_VALIDATION_ERROR_TYPES),
  dataSourceId: z.string(),
  table: z.string().optional(),
  field: z.string().optional(),
  message: z.string(),
});
export type SchemaValidationError = z.infer<typeof SchemaValidationErrorSchema>;

export const ValidateSchemaResultSchema = z.object({
  status: z.literal('success'),
  dataSources: z.number().int(),
  tables: z.number().int(),
  fields: z.number().int(),
});
export type ValidateSchemaResult = z.infer<typeof ValidateSchemaResultSchema>;
