import { isTransientCode, STAGE_NAMES, type StageName } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import { describeFailureTable, ENGINE_STAGES } from '../../test/helpers/failure-tables.js';
import { POSTGRES_ERRORS, postgresFailure } from './postgres.errors.js';

/**
 * What a SQLSTATE class is about (PostgreSQL docs, Appendix A): a row of that class cannot be
 * reported at an earlier stage. Rows are driven through the real server in
 * test/postgres.int.test.ts (28P01, 3D000, 42501, 3F000).
 */
const CLASS_STAGE: Record<string, StageName> = {
  '28': 'auth', // invalid authorization specification
  '3D': 'database', // invalid catalog name
  '42': 'database', // access rule violation
  '3F': 'schema', // invalid schema name
};
/** Classes that describe a momentary state of the server: insufficient resources, operator intervention. */
const MOMENTARY_CLASSES = new Set(['53', '57']);

const rows = Object.entries(POSTGRES_ERRORS);
describeFailureTable('POSTGRES_ERRORS', rows, ENGINE_STAGES);

describe('PostgreSQL error classification', () => {
  it.each(rows)('SQLSTATE %s is found by its code', (sqlstate, spec) => {
    expect(postgresFailure(Object.assign(new Error('server text'), { code: sqlstate }))).toBe(spec);
  });

  it.each(rows)('SQLSTATE %s is reported no earlier than its class is about', (sqlstate, spec) => {
    const floor = CLASS_STAGE[sqlstate.slice(0, 2)];
    if (floor)
      expect(STAGE_NAMES.indexOf(spec.stage ?? 'tls')).toBeGreaterThanOrEqual(STAGE_NAMES.indexOf(floor));
    if (MOMENTARY_CLASSES.has(sqlstate.slice(0, 2))) expect(isTransientCode(spec.code)).toBe(true);
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
