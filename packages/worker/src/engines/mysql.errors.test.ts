import { describe, expect, it } from 'vitest';
import { MYSQL_ERRORS, mysqlFailure } from './mysql.errors.js';

/** errno or mysql2 code → [code, stage]. */
const EXPECTED: Record<string, [string, string | undefined]> = {
  '1045': ['AUTH_FAILED', 'auth'],
  '1698': ['AUTH_FAILED', 'auth'],
  '1044': ['PERMISSION_DENIED', 'database'],
  '1049': ['DATABASE_NOT_FOUND', 'database'],
  '1142': ['PERMISSION_DENIED', 'schema'],
  '1227': ['PERMISSION_DENIED', 'schema'],
  '1130': ['HOST_NOT_ALLOWED', 'auth'],
  '1129': ['HOST_NOT_ALLOWED', 'auth'],
  '1040': ['SERVER_BUSY', undefined],
  '1203': ['SERVER_BUSY', undefined],
  '1226': ['SERVER_BUSY', undefined],
  '1053': ['SERVER_BUSY', undefined],
  '1251': ['AUTH_UNSUPPORTED', 'auth'],
  '1862': ['AUTH_FAILED', 'auth'],
  '3118': ['AUTH_FAILED', 'auth'],
  '4151': ['AUTH_FAILED', 'auth'],
  '3159': ['TLS_REQUIRED', undefined],
  '2026': ['TLS_HANDSHAKE_FAILED', undefined],
  HANDSHAKE_NO_SSL_SUPPORT: ['TLS_NOT_OFFERED', undefined],
  HANDSHAKE_SSL_ERROR: ['TLS_HANDSHAKE_FAILED', undefined],
  PROTOCOL_CONNECTION_LOST: ['CONNECTION_LOST', undefined],
  ECONNRESET: ['CONNECTION_LOST', undefined],
  EPIPE: ['CONNECTION_LOST', undefined],
  AUTH_SWITCH_PLUGIN_ERROR: ['AUTH_UNSUPPORTED', 'auth'],
};

describe('MySQL/MariaDB error classification', () => {
  it('has a test row for every table row', () => {
    expect(Object.keys(MYSQL_ERRORS).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s → %j', (key, [code, stage]) => {
    // Server errors carry errno (and a code name); mysql2's own carry only a code.
    const error = /^\d+$/.test(key) ? { errno: Number(key), code: 'ER_SOMETHING' } : { code: key };
    const spec = mysqlFailure(error);
    expect(spec?.code).toBe(code);
    expect(spec?.stage).toBe(stage);
  });

  it('prefers errno over the code name, and knows nothing of others', () => {
    expect(mysqlFailure({ errno: 1045, code: 'PROTOCOL_CONNECTION_LOST' })?.code).toBe('AUTH_FAILED');
    expect(mysqlFailure({ errno: 9999, code: 'ER_UNKNOWN' })).toBeUndefined();
    expect(mysqlFailure(undefined)).toBeUndefined();
  });

  it('1044 names the database at the database stage and the schema at the schema stage', () => {
    const base = {
      engine: 'MySQL',
      host: 'h',
      port: 3306,
      user: 'u',
      database: 'app',
      schema: 'other',
      sslMode: 'disable' as const,
      timeoutMs: 0,
    };
    const text = MYSQL_ERRORS['1044']?.message;
    expect(text?.({ ...base, stage: 'database' })).toContain('database app');
    expect(text?.({ ...base, stage: 'schema' })).toContain('other');
  });
});
