import { ConnectionError, RequestError } from 'tedious';
import { describe, expect, it } from 'vitest';
import { describeFailureTable, ENGINE_STAGES } from '../../test/helpers/failure-tables.js';
import { SQLSERVER_ERRORS, sqlServerFailure, TEDIOUS_CODES } from './sqlserver.errors.js';

const numberRows = SQLSERVER_ERRORS.map(([number, spec]) => [String(number), spec] as const);
const codeRows = Object.entries(TEDIOUS_CODES);
describeFailureTable('SQLSERVER_ERRORS', numberRows, ENGINE_STAGES);
describeFailureTable('TEDIOUS_CODES', codeRows, ENGINE_STAGES);

/** A server error as tedious reports it on a request (token/handler.js, onErrorMessage). */
function requestError(number: number): RequestError {
  const error = new RequestError(`server error ${number}`, 'EREQUEST');
  error.number = number;
  return error;
}

describe('SQL Server error classification', () => {
  it.each(SQLSERVER_ERRORS)(
    'error %i is found from the login, on a request, and among several',
    (number, spec) => {
      expect(sqlServerFailure([number], { code: 'ELOGIN' })).toBe(spec);
      // tedious RequestError.number; an AggregateError of RequestErrors when the server sent several.
      expect(sqlServerFailure([], requestError(number))).toBe(spec);
      expect(sqlServerFailure([], new AggregateError([requestError(50000), requestError(number)]))).toBe(
        spec,
      );
    },
  );

  it('a login that cannot open its database reports 4060, not the 18456 that follows it', () => {
    expect(sqlServerFailure([4060, 18456], { code: 'ELOGIN' })?.code).toBe('DATABASE_NOT_FOUND');
  });

  it.each(codeRows)('%s is found as the code, as a cause, or in an AggregateError', (tediousCode, spec) => {
    expect(sqlServerFailure([], { code: tediousCode })).toBe(spec);
    expect(sqlServerFailure([], { code: 'EUNKNOWN', cause: { code: tediousCode } })).toBe(spec);
    expect(sqlServerFailure([], new AggregateError([{ code: tediousCode }]))).toBe(spec);
  });

  it('a socket error under ESOCKET (ConnectionError with its cause) is CONNECTION_LOST', () => {
    const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const error = new ConnectionError('Connection lost - read ECONNRESET', 'ESOCKET', { cause });
    expect(sqlServerFailure([], error)?.code).toBe('CONNECTION_LOST');
  });

  it('knows nothing of others', () => {
    expect(sqlServerFailure([50000], { code: 'EREQUEST' })).toBeUndefined();
  });
});
