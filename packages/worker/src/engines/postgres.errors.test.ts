import { describe, expect, it } from 'vitest';
import { POSTGRES_ERRORS, postgresFailure } from './postgres.errors.js';

/** SQLSTATE → [code, stage the failure belongs to, what happened to the stages before it]. */
const EXPECTED: Record<string, [string, string | undefined, string | undefined]> = {
  '28P01': ['AUTH_FAILED', 'auth', undefined],
  '28000': ['AUTH_FAILED', 'auth', undefined],
  '3D000': ['DATABASE_NOT_FOUND', 'database', 'ok'],
  '42501': ['PERMISSION_DENIED', 'database', 'ok'],
  '3F000': ['SCHEMA_NOT_FOUND', 'schema', undefined],
  '53300': ['SERVER_BUSY', undefined, undefined],
  '57P03': ['SERVER_BUSY', undefined, undefined],
  '57P01': ['SERVER_BUSY', undefined, undefined],
  '0A000': ['AUTH_UNSUPPORTED', 'auth', undefined],
  '57014': ['SERVER_BUSY', undefined, undefined],
};

describe('PostgreSQL error classification', () => {
  it('has a test row for every table row', () => {
    expect(Object.keys(POSTGRES_ERRORS).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('SQLSTATE %s → %j', (sqlstate, [code, stage, priorStages]) => {
    const spec = postgresFailure(Object.assign(new Error('server text'), { code: sqlstate }));
    expect(spec?.code).toBe(code);
    expect(spec?.stage).toBe(stage);
    expect(spec?.priorStages).toBe(priorStages);
  });

  it('knows nothing of errors without a SQLSTATE', () => {
    expect(postgresFailure(new Error('Connection terminated unexpectedly'))).toBeUndefined();
    expect(postgresFailure({ code: 'ECONNRESET' })).toBeUndefined();
    expect(postgresFailure(null)).toBeUndefined();
  });

  it('28000 explains the role and pg_hba.conf, without any secret', () => {
    const message = POSTGRES_ERRORS['28000']?.message?.({
      engine: 'PostgreSQL',
      host: 'db',
      port: 5432,
      user: 'app',
      database: 'd',
      schema: 'public',
      sslMode: 'require',
      stage: 'auth',
      timeoutMs: 0,
    });
    expect(message).toContain('app');
    expect(message).toContain('pg_hba.conf');
  });
});
