import { describe, expect, it } from 'vitest';
import { ORACLE_ERRORS, oracleFailure } from './oracle.errors.js';

const EXPECTED: Record<string, [string, string | undefined, string | undefined]> = {
  'ORA-01017': ['AUTH_FAILED', 'auth', undefined],
  'ORA-28000': ['AUTH_FAILED', 'auth', undefined],
  'ORA-28001': ['AUTH_FAILED', 'auth', undefined],
  'ORA-12514': ['DATABASE_NOT_FOUND', 'database', 'skipped'],
  'ORA-12505': ['DATABASE_NOT_FOUND', 'database', 'skipped'],
  'NJS-518': ['DATABASE_NOT_FOUND', 'database', 'skipped'],
  'NJS-519': ['DATABASE_NOT_FOUND', 'database', 'skipped'],
  'ORA-01045': ['PERMISSION_DENIED', 'database', 'ok'],
  'ORA-01031': ['PERMISSION_DENIED', 'schema', undefined],
  'ORA-00942': ['PERMISSION_DENIED', 'schema', undefined],
  'ORA-12516': ['SERVER_BUSY', undefined, undefined],
  'ORA-12519': ['SERVER_BUSY', undefined, undefined],
  'ORA-12520': ['SERVER_BUSY', undefined, undefined],
  'ORA-12528': ['SERVER_BUSY', undefined, undefined],
  'ORA-01033': ['SERVER_BUSY', undefined, undefined],
  'ORA-01034': ['SERVER_BUSY', undefined, undefined],
  'ORA-01089': ['SERVER_BUSY', undefined, undefined],
  'NJS-500': ['CONNECTION_LOST', undefined, undefined],
  'NJS-501': ['CONNECTION_LOST', undefined, undefined],
  'NJS-503': ['CONNECTION_LOST', undefined, undefined],
  'NJS-521': ['CONNECTION_LOST', undefined, undefined],
  'NJS-511': ['CONNECTION_LOST', undefined, undefined],
  'NJS-510': ['AUTH_TIMEOUT', undefined, undefined],
  'NJS-509': ['PROTOCOL_ERROR', undefined, undefined],
  'NJS-116': ['AUTH_UNSUPPORTED', 'auth', undefined],
  'NJS-138': ['AUTH_UNSUPPORTED', 'auth', undefined],
  'NJS-505': ['TLS_CONFIG_INVALID', undefined, undefined],
  'NJS-506': ['TLS_HANDSHAKE_FAILED', undefined, undefined],
  'NJS-507': ['TLS_HOSTNAME_MISMATCH', undefined, undefined],
  'NJS-508': ['TLS_HOSTNAME_MISMATCH', undefined, undefined],
};

describe('Oracle error classification', () => {
  it('has a test row for every table row', () => {
    expect(Object.keys(ORACLE_ERRORS).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s → %j', (oracleCode, [code, stage, priorStages]) => {
    // As thin mode builds them: a server error has errorNum (and a code from its text), a driver error a code.
    const number = oracleCode.startsWith('ORA-') ? { errorNum: Number(oracleCode.slice(4)) } : {};
    const spec = oracleFailure(
      Object.assign(new Error(`${oracleCode}: text`), { code: oracleCode, ...number }),
    );
    expect(spec?.code).toBe(code);
    expect(spec?.stage).toBe(stage);
    expect(spec?.priorStages).toBe(priorStages);
  });

  it("reads a listener's refusal by the ORA code the thin driver puts in NJS-511's message", () => {
    const refused = (cause: string) =>
      oracleFailure(
        Object.assign(
          new Error(
            `NJS-511: connection to listener at host 10.0.0.5 port 1521 was refused. (CONNECTION_ID=x)\nCause: ${cause}`,
          ),
          {
            code: 'NJS-511',
          },
        ),
      );
    expect(refused('ORA-12516')?.code).toBe('SERVER_BUSY');
    expect(refused('ORA-12514')).toMatchObject({ code: 'DATABASE_NOT_FOUND', stage: 'database' });
    expect(refused('ORA-99999')?.code).toBe('CONNECTION_LOST');
    expect(refused('refused')?.code).toBe('CONNECTION_LOST');
  });

  it('knows nothing of others', () => {
    expect(oracleFailure({ code: 'ORA-00001' })).toBeUndefined();
    expect(oracleFailure({ errorNum: 1 })).toBeUndefined();
  });
});
