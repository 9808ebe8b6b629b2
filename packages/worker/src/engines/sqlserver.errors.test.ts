import { ConnectionError, RequestError } from 'tedious';
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
  ECLOSE: 'CONNECTION_LOST',
  EINVALIDSTATE: 'CONNECTION_LOST',
  ELOGIN: 'AUTH_FAILED',
};

/** A server error as tedious reports it on a request (token/handler.js, onErrorMessage). */
function requestError(number: number): RequestError {
  const error = new RequestError(`server error ${number}`, 'EREQUEST');
  error.number = number;
  return error;
}

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

  it.each(EXPECTED_NUMBERS)('error %i on a request (tedious RequestError.number) → %s', (number, code) => {
    expect(sqlServerFailure([], requestError(number))?.code).toBe(code);
  });

  it.each(EXPECTED_NUMBERS)(
    'error %i among several on one request (tedious AggregateError of RequestErrors) → %s',
    (number, code) => {
      const error = new AggregateError([requestError(50000), requestError(number)]);
      expect(sqlServerFailure([], error)?.code).toBe(code);
    },
  );

  it('a login that cannot open its database reports 4060, not the 18456 that follows it', () => {
    expect(sqlServerFailure([4060, 18456], { code: 'ELOGIN' })?.code).toBe('DATABASE_NOT_FOUND');
  });

  it.each(Object.entries(EXPECTED_CODES))(
    '%s → %s, also as a cause or in an AggregateError',
    (tediousCode, code) => {
      expect(sqlServerFailure([], { code: tediousCode })?.code).toBe(code);
      expect(sqlServerFailure([], { code: 'EUNKNOWN', cause: { code: tediousCode } })?.code).toBe(code);
      expect(sqlServerFailure([], new AggregateError([{ code: tediousCode }]))?.code).toBe(code);
    },
  );

  it('a socket error under ESOCKET (ConnectionError with its cause) is CONNECTION_LOST', () => {
    const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const error = new ConnectionError('Connection lost - read ECONNRESET', 'ESOCKET', { cause });
    expect(sqlServerFailure([], error)?.code).toBe('CONNECTION_LOST');
  });

  it('knows nothing of others', () => {
    expect(sqlServerFailure([50000], { code: 'EREQUEST' })).toBeUndefined();
  });
});
