import { describe, expect, it } from 'vitest';
import { describeFailureTable, ENGINE_STAGES } from '../../test/helpers/failure-tables.js';
import { MYSQL_ERRORS, mysqlFailure } from './mysql.errors.js';

// Rows driven through the real server: test/mysql.int.test.ts (1045, 1049, 1044), mysql-tls.int.test.ts.
const rows = Object.entries(MYSQL_ERRORS);
describeFailureTable('MYSQL_ERRORS', rows, ENGINE_STAGES);

describe('MySQL/MariaDB error classification', () => {
  it.each(rows)('%s is found: a server errno by errno, a mysql2 code by code', (key, spec) => {
    // Server errors carry errno (and a code name); mysql2's own carry only a code.
    const error = /^\d+$/.test(key) ? { errno: Number(key), code: 'ER_SOMETHING' } : { code: key };
    expect(mysqlFailure(error)).toBe(spec);
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
