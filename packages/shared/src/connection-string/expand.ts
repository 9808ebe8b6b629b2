import { z } from 'zod';
import {
  ConnectionTypeSchema,
  CreateConnectionInputSchema,
  DatabaseNameSchema,
  HostSchema,
  PortSchema,
  SchemaNameSchema,
  TestSettingsInputSchema,
  UpdateConnectionInputSchema,
  UserNameSchema,
} from '../schemas/connection.schema.js';
import { SslModeSchema } from '../schemas/ssl.schema.js';
import { ConnectionStringError, type ConnectionStringFields } from './common.js';
import { parseConnectionString } from './parse.js';

/**
 * What a caller may send besides a body's own fields: `connectionString` in place of (or beside)
 * the fields it carries. Every field is then optional to the type checker; the body's own rules
 * still say which are required once the string is read.
 */
export type WithConnectionString<T> = T extends object
  ? { [K in keyof T]?: T[K] | undefined } & { connectionString?: string | undefined }
  : T;

type Ctx = z.core.$RefinementCtx<unknown>;
type Body = Record<string, unknown>;
/** create; change (update); trial (try before save: a change when it names a stored id). */
type Mode = 'create' | 'change' | 'trial';

/** Field rules used only to compare a field given both ways (each side normalised the same way). */
const COMPARED_AS: Record<'type' | 'host' | 'port' | 'databaseName' | 'userName' | 'schema', z.ZodType> = {
  type: ConnectionTypeSchema,
  host: HostSchema,
  port: PortSchema,
  databaseName: DatabaseNameSchema,
  userName: UserNameSchema,
  schema: SchemaNameSchema,
};

/** `a` and `b` mean the same once normalised by `schema`; a value its rule refuses is left to that rule. */
function differs(schema: z.ZodType, a: unknown, b: unknown): boolean {
  const left = schema.safeParse(a);
  const right = schema.safeParse(b);
  if (!left.success || !right.success) return false;
  const l = left.data;
  const r = right.data;
  // Host names ignore letter case.
  if (typeof l === 'string' && typeof r === 'string' && schema === HostSchema)
    return l.toLowerCase() !== r.toLowerCase();
  return l !== r;
}

/**
 * Reads `connectionString` into the body's fields, before the body's own rules run (docs/contract.md
 * §12): a field the string carries fills the field; a field given both ways with different values
 * is an issue naming both; a string that cannot be read is an issue naming `connectionString` that
 * never quotes it. The string itself is dropped: it is never stored, logged or echoed.
 *
 * `mode: 'change'` (update; a trial with an id is one): `metadata` replaces the whole map there, so a string
 * that carries metadata keys (MongoDB authSource, +srv) needs `metadata` given beside it.
 */
export function expandConnectionString(value: unknown, ctx: Ctx, mode: Mode): unknown {
  if (!z.core.util.isPlainObject(value) || !('connectionString' in value)) return value;
  const { connectionString, ...body } = value as Body;
  // A trial with the id of a stored connection changes that connection's settings.
  const as = mode === 'trial' ? (body.id === undefined ? 'create' : 'change') : mode;
  if (connectionString === undefined) return body;
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (typeof connectionString !== 'string') {
    issue('connectionString', 'connectionString must be a string');
    return body;
  }
  let fields: ConnectionStringFields;
  try {
    fields = parseConnectionString(connectionString);
  } catch (error) {
    if (!(error instanceof ConnectionStringError)) throw error;
    // The parser's messages never quote the input (see ConnectionStringError).
    issue('connectionString', error.message);
    return body;
  }
  return merge(body, fields, issue, as);
}

function merge(
  body: Body,
  fields: ConnectionStringFields,
  issue: (path: string, message: string) => void,
  mode: 'create' | 'change',
): Body {
  const out: Body = { ...body };
  const conflict = (field: string) => {
    issue(
      field,
      `${field} differs from the ${field} in connectionString: give it one way, or the same both ways`,
    );
    issue('connectionString', `connectionString gives a ${field} other than the ${field} field`);
  };
  for (const field of Object.keys(COMPARED_AS) as (keyof typeof COMPARED_AS)[]) {
    const fromString = fields[field];
    if (fromString === undefined) continue;
    const given = body[field];
    if (given === undefined || given === null) {
      // `schema: null` (back to the engine's default) against a string that names one.
      if (given === null) conflict(field);
      else out[field] = fromString;
    } else if (differs(COMPARED_AS[field], given, fromString)) conflict(field);
  }
  if (fields.password !== undefined) {
    const given = body.password;
    // An empty password on a change means "keep the stored one": the string's password is the new one.
    if (given === undefined || given === '') out.password = fields.password;
    else if (given !== fields.password) conflict('password');
  }
  if (fields.ssl !== undefined) {
    const given = body.ssl;
    if (given === undefined) out.ssl = { mode: fields.ssl.mode };
    else if (given === null) conflict('ssl.mode');
    else if (z.core.util.isPlainObject(given)) {
      const ssl = given as Body;
      if (ssl.mode === undefined) out.ssl = { ...ssl, mode: fields.ssl.mode };
      else if (differs(SslModeSchema, ssl.mode, fields.ssl.mode)) conflict('ssl.mode');
    }
  }
  if (fields.metadata !== undefined) {
    const given = body.metadata;
    if (given === undefined && mode === 'change') {
      issue(
        'connectionString',
        `connectionString sets metadata.${Object.keys(fields.metadata).join(', metadata.')}: on a change give metadata beside it (metadata replaces the whole map)`,
      );
    } else if (given === undefined) out.metadata = { ...fields.metadata };
    else if (z.core.util.isPlainObject(given)) {
      const merged: Body = { ...(given as Body) };
      for (const [key, fromString] of Object.entries(fields.metadata)) {
        if (merged[key] === undefined) merged[key] = fromString;
        else if (merged[key] !== fromString) conflict(`metadata.${key}`);
      }
      out.metadata = merged;
    }
  }
  return out;
}

/**
 * A body schema that also takes `connectionString` (docs/contract.md §12): the string is read into
 * the fields first, then every rule of `schema` applies to the result. Both doors (REST and tRPC)
 * and the OpenAPI document use the schemas made here.
 */
export function withConnectionString<S extends z.ZodType>(schema: S, mode: Mode) {
  return z.preprocess(
    (value: WithConnectionString<z.input<S>>, ctx) => expandConnectionString(value, ctx, mode),
    schema,
  );
}

/** The create body with `connectionString` (REST; tRPC extends the object before wrapping it). */
export const CreateConnectionRequestSchema = withConnectionString(CreateConnectionInputSchema, 'create');
/** The PATCH body with `connectionString`. */
export const UpdateConnectionRequestSchema = withConnectionString(UpdateConnectionInputSchema, 'change');
/** The try-before-save body with `connectionString`. */
export const TestSettingsRequestSchema = withConnectionString(TestSettingsInputSchema, 'trial');
