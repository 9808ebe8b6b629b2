import { describe, expect, it } from 'vitest';
import { describeFailureTable, ENGINE_STAGES } from '../../test/helpers/failure-tables.js';
import { ORACLE_ERRORS, oracleFailure } from './oracle.errors.js';

const rows = Object.entries(ORACLE_ERRORS);
describeFailureTable('ORACLE_ERRORS', rows, ENGINE_STAGES);

describe('Oracle error classification', () => {
  it.each(rows)('%s is found by its number (server errors) or code (driver errors)', (oracleCode, spec) => {
    // As thin mode builds them: a server error has errorNum (and a code from its text), a driver error a code.
    const number = oracleCode.startsWith('ORA-') ? { errorNum: Number(oracleCode.slice(4)) } : {};
    expect(
      oracleFailure(Object.assign(new Error(`${oracleCode}: text`), { code: oracleCode, ...number })),
    ).toBe(spec);
  });

  it('a listener refuses an unknown service before any login: the stages before database are skipped', () => {
    for (const [code, spec] of rows) {
      if (code.startsWith('ORA-125') && spec.code === 'DATABASE_NOT_FOUND') {
        expect(spec, code).toMatchObject({ stage: 'database', priorStages: 'skipped' });
      }
    }
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
    expect(oracleFailure({ code: 'ORA-00001', errorNum: 1 })).toBeUndefined();
    expect(oracleFailure({ code: 'NJS-000' })).toBeUndefined();
  });
});
