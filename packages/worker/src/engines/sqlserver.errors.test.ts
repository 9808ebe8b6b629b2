import { describe, expect, it } from 'vitest';
import { SQLSERVER_ERRORS, sqlServerFailure, TEDIOUS_CODES } from './sqlserver.errors.js';

const EXPECTED_NUMBERS: [number, string, string | undefined][] = [
  [4060, 'DATABASE_NOT_FOUND', 'database'],
  [916, 'PERMISSION_DENIED', 'database'],
  [229, 'PERMISSION_DENIED', 'schema'],
  [18456, 'AUTH_FAILED', 'auth'],
  [18487, 'AUTH_FAILED', 'auth'],
  [18488, 'AUTH_FAILED', 'auth'],
  [18486, 'AUTH_FAILED', 'auth'],
  [18452, 'AUTH_UNSUPPORTED', 'auth'],
  [18401, 'SERVER_BUSY', undefined],
  [17809, 'SERVER_BUSY', undefined],
  [18451, 'SERVER_BUSY', undefined],
];

const EXPECTED_CODES: Record<string, string> = {
  EENCRYPT: 'TLS_REQUIRED',
  ESOCKET: 'CONNECTION_LOST',
  ECONNCLOSED: 'CONNECTION_LOST',
  ELOGIN: 'AUTH_FAILED',
};

describe('SQL Server error classification', () => {
  it('has a test row for every table row', () => {
    expect(SQLSERVER_ERRORS.map(([n]) => n).sort()).toEqual(EXPECTED_NUMBERS.map(([n]) => n).sort());
    expect(Object.keys(TEDIOUS_CODES).sort()).toEqual(Object.keys(EXPECTED_CODES).sort());
  });

  it.each(EXPECTED_NUMBERS)('error %i from the login → %s at %s', (number, code, stage) => {
    const spec = sqlServerFailure([number], { code: 'ELOGIN' });
    expect(spec?.code).toBe(code);
    expect(spec?.stage).toBe(stage);
  });

  it.each(EXPECTED_NUMBERS)(
    'error %i on a request (RequestError.number, wrapped by mssql) → %s',
    (number, code) => {
      expect(sqlServerFailure([], { originalError: { number } })?.code).toBe(code);
      expect(sqlServerFailure([], { number })?.code).toBe(code);
    },
  );

  it('a login that cannot open its database reports 4060, not the 18456 that follows it', () => {
    expect(sqlServerFailure([4060, 18456], { code: 'ELOGIN' })?.code).toBe('DATABASE_NOT_FOUND');
  });

  it.each(Object.entries(EXPECTED_CODES))('%s → %s, also when wrapped', (tediousCode, code) => {
    expect(sqlServerFailure([], { code: tediousCode })?.code).toBe(code);
    expect(sqlServerFailure([], { code: 'EUNKNOWN', originalError: { code: tediousCode } })?.code).toBe(code);
  });

  it('knows nothing of others', () => {
    expect(sqlServerFailure([50000], { code: 'EREQUEST' })).toBeUndefined();
  });
});
