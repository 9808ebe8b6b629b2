import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { oracleFailure } from './oracle.errors.js';

/**
 * The error objects node-oracledb 26 thin builds itself (its errors module, as protocol.js
 * `_raiseException` and the network session call it), not hand-made look-alikes: the server's
 * number is read from `errorNum`, never from the message text.
 */
const driverErrors = createRequire(import.meta.url)('oracledb/lib/errors.js') as {
  transformErr(error: Error & { errorNum?: number }): Error & { code?: string };
  getErr(errorNum: number, ...args: unknown[]): Error & { code?: string };
  ERR_CONNECTION_REFUSED: number;
  ERR_INVALID_SERVICE_NAME: number;
};

/** What thin mode does with a server error message: errorNum from the protocol, code from the text. */
function serverError(errorNum: number, text: string) {
  return driverErrors.transformErr(Object.assign(new Error(text), { errorNum }));
}

describe('Oracle errors as thin mode builds them', () => {
  it('reads a server error by its number', () => {
    expect(
      oracleFailure(serverError(1017, 'ORA-01017: invalid credential or not authorized; logon denied')),
    ).toMatchObject({ code: 'AUTH_FAILED', stage: 'auth' });
    // The text says nothing the classification uses: a translated or reworded message reads the same.
    expect(oracleFailure(serverError(1017, 'ORA-01017: identifiant ou mot de passe non valide'))?.code).toBe(
      'AUTH_FAILED',
    );
    expect(oracleFailure(serverError(28000, 'ORA-28000: The account is locked.'))?.code).toBe('AUTH_FAILED');
  });

  it('prefers the number where the driver replaces the code (ORA-01089 becomes NJS-500)', () => {
    const shutdown = serverError(1089, 'ORA-01089: immediate shutdown or close in progress');
    expect(shutdown.code).toBe('NJS-500');
    expect(oracleFailure(shutdown)?.code).toBe('SERVER_BUSY');
  });

  it("classifies the driver's own errors by their code", () => {
    const unknownService = driverErrors.getErr(driverErrors.ERR_INVALID_SERVICE_NAME, 'svc', 'h', 1521, 'id');
    expect(oracleFailure(unknownService)).toMatchObject({ code: 'DATABASE_NOT_FOUND', stage: 'database' });
    const refused = driverErrors.getErr(driverErrors.ERR_CONNECTION_REFUSED, 'h', 1521, 'id', 'ORA-12516');
    expect(oracleFailure(refused)?.code).toBe('SERVER_BUSY');
  });
});
