import { ACCOUNT_LOCKED, PASSWORD_EXPIRED } from '../failures/account.js';
import type { FailureSpec } from '../failures/stage-failure.js';

/**
 * MySQL/MariaDB server errno, and mysql2's own client codes → verification failure.
 *
 * 1044 (access denied to a database) belongs to the database stage: for MySQL the schema *is* the
 * database, and the server answers 1044 instead of 1049 to a user without global privileges,
 * whether the database exists or not — so the message says both.
 */
export const MYSQL_ERRORS: Record<string, FailureSpec> = {
  // ER_ACCESS_DENIED_ERROR; ER_ACCESS_DENIED_NO_PASSWORD_ERROR (MariaDB: no such user for this host)
  '1045': { code: 'AUTH_FAILED', stage: 'auth' },
  '1698': { code: 'AUTH_FAILED', stage: 'auth' },
  // ER_DBACCESS_DENIED_ERROR
  '1044': {
    code: 'PERMISSION_DENIED',
    stage: 'database',
    message: (c) =>
      c.stage === 'schema'
        ? `User ${c.user} may not use ${c.schema} (or it does not exist)`
        : `User ${c.user} may not use database ${c.database} (or it does not exist)`,
    hint: (c) =>
      `Check the database name, or ask the database administrator to GRANT ${c.user} privileges on ${c.stage === 'schema' ? c.schema : c.database}.`,
  },
  // ER_BAD_DB_ERROR
  '1049': { code: 'DATABASE_NOT_FOUND', stage: 'database' },
  // ER_TABLEACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR
  '1142': { code: 'PERMISSION_DENIED', stage: 'schema' },
  '1227': { code: 'PERMISSION_DENIED', stage: 'schema' },
  // ER_HOST_NOT_PRIVILEGED
  '1130': { code: 'HOST_NOT_ALLOWED', stage: 'auth' },
  // ER_HOST_IS_BLOCKED: too many failed handshakes from this address
  '1129': {
    code: 'HOST_NOT_ALLOWED',
    stage: 'auth',
    message: (c) =>
      `The server at ${c.host}:${c.port} blocks this service's address after too many failed connections`,
    hint: () => 'Ask the database administrator to run FLUSH HOSTS (and to look at max_connect_errors).',
  },
  // ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS, ER_USER_LIMIT_REACHED
  '1040': { code: 'SERVER_BUSY' },
  '1203': { code: 'SERVER_BUSY' },
  '1226': { code: 'SERVER_BUSY' },
  // ER_SERVER_SHUTDOWN
  '1053': { code: 'SERVER_BUSY' },
  // ER_NOT_SUPPORTED_AUTH_MODE
  '1251': { code: 'AUTH_UNSUPPORTED', stage: 'auth' },
  // ER_MUST_CHANGE_PASSWORD_LOGIN
  '1862': PASSWORD_EXPIRED,
  // ER_ACCOUNT_HAS_BEEN_LOCKED (MySQL 3118, MariaDB 4151)
  '3118': ACCOUNT_LOCKED,
  '4151': ACCOUNT_LOCKED,
  // ER_SECURE_TRANSPORT_REQUIRED (require_secure_transport=ON)
  '3159': { code: 'TLS_REQUIRED' },
  // CR_SSL_CONNECTION_ERROR (libmysql's number for what mysql2 calls HANDSHAKE_SSL_ERROR)
  '2026': { code: 'TLS_HANDSHAKE_FAILED' },
  // mysql2 client-side codes
  HANDSHAKE_NO_SSL_SUPPORT: { code: 'TLS_NOT_OFFERED' },
  HANDSHAKE_SSL_ERROR: { code: 'TLS_HANDSHAKE_FAILED' },
  PROTOCOL_CONNECTION_LOST: { code: 'CONNECTION_LOST' },
  ECONNRESET: { code: 'CONNECTION_LOST' },
  EPIPE: { code: 'CONNECTION_LOST' },
  AUTH_SWITCH_PLUGIN_ERROR: { code: 'AUTH_UNSUPPORTED', stage: 'auth' },
};

/** The row for a mysql2 error: by server errno first, then by mysql2's `code`. */
export function mysqlFailure(error: unknown): FailureSpec | undefined {
  const { errno, code } = (error ?? {}) as { errno?: unknown; code?: unknown };
  if (typeof errno === 'number' && MYSQL_ERRORS[String(errno)]) return MYSQL_ERRORS[String(errno)];
  return typeof code === 'string' ? MYSQL_ERRORS[code] : undefined;
}
