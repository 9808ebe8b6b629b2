import type { FailureSpec } from '../failures/stage-failure.js';

/**
 * PostgreSQL SQLSTATE → verification failure. A pg server checks the password before it opens the
 * database, so 3D000 and 42501 at connect time mean the login itself succeeded.
 */
export const POSTGRES_ERRORS: Record<string, FailureSpec> = {
  // invalid_password
  '28P01': { code: 'AUTH_FAILED', stage: 'auth' },
  // invalid_authorization_specification: unknown role, no pg_hba.conf line, client certificate refused
  '28000': {
    code: 'AUTH_FAILED',
    stage: 'auth',
    message: (c) =>
      `The server refused the login of user ${c.user} — the role may not exist, or no pg_hba.conf rule admits it from this address with ssl.mode ${c.sslMode}`,
    hint: (c) =>
      `Check userName, or ask the database administrator to create the role or add a pg_hba.conf rule for ${c.user} (TLS, client certificate and address must match).`,
  },
  // invalid_catalog_name
  '3D000': { code: 'DATABASE_NOT_FOUND', stage: 'database', priorStages: 'ok' },
  // insufficient_privilege at connect time: no CONNECT on the database
  '42501': { code: 'PERMISSION_DENIED', stage: 'database', priorStages: 'ok' },
  // invalid_schema_name
  '3F000': { code: 'SCHEMA_NOT_FOUND', stage: 'schema' },
  // too_many_connections, cannot_connect_now (starting up / shutting down), admin_shutdown
  '53300': { code: 'SERVER_BUSY' },
  '57P03': { code: 'SERVER_BUSY' },
  '57P01': { code: 'SERVER_BUSY' },
  // feature_not_supported during startup: an authentication method node-postgres cannot do
  '0A000': { code: 'AUTH_UNSUPPORTED', stage: 'auth' },
  // query_canceled: statement_timeout fired on the verifying query
  '57014': { code: 'SERVER_BUSY' },
};

/** SQLSTATE of a node-postgres error (server errors carry a 5-character `code`). */
export function postgresFailure(error: unknown): FailureSpec | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? POSTGRES_ERRORS[code] : undefined;
}
