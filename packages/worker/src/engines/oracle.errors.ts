import { ACCOUNT_LOCKED, PASSWORD_EXPIRED } from '../failures/account.js';
import type { FailureSpec } from '../failures/stage-failure.js';

/**
 * Oracle errors → failure: `ORA-nnnnn` for the server's error numbers (`errorNum`), `NJS-nnn` for
 * node-oracledb thin's own errors (`code`).
 */
export const ORACLE_ERRORS: Record<string, FailureSpec> = {
  // invalid username/password; logon denied
  'ORA-01017': { code: 'AUTH_FAILED', stage: 'auth' },
  // the account is locked
  'ORA-28000': ACCOUNT_LOCKED,
  // the password has expired
  'ORA-28001': PASSWORD_EXPIRED,
  // the listener does not know the service / SID: refused before any login
  'ORA-12514': { code: 'DATABASE_NOT_FOUND', stage: 'database', priorStages: 'skipped' },
  'ORA-12505': { code: 'DATABASE_NOT_FOUND', stage: 'database', priorStages: 'skipped' },
  'NJS-518': { code: 'DATABASE_NOT_FOUND', stage: 'database', priorStages: 'skipped' },
  'NJS-519': { code: 'DATABASE_NOT_FOUND', stage: 'database', priorStages: 'skipped' },
  // user lacks CREATE SESSION privilege; logon denied
  'ORA-01045': { code: 'PERMISSION_DENIED', stage: 'database', priorStages: 'ok' },
  // insufficient privileges; table or view does not exist
  'ORA-01031': { code: 'PERMISSION_DENIED', stage: 'schema' },
  'ORA-00942': { code: 'PERMISSION_DENIED', stage: 'schema' },
  // listener could not hand off / no appropriate service handler / database starting or stopping
  'ORA-12516': { code: 'SERVER_BUSY' },
  'ORA-12519': { code: 'SERVER_BUSY' },
  'ORA-12520': { code: 'SERVER_BUSY' },
  'ORA-12528': { code: 'SERVER_BUSY' },
  'ORA-01033': { code: 'SERVER_BUSY' },
  'ORA-01034': { code: 'SERVER_BUSY' },
  'ORA-01089': { code: 'SERVER_BUSY' },
  // thin driver transport: closed, lost, refused, timed out, not a TNS answer
  'NJS-500': { code: 'CONNECTION_LOST' },
  'NJS-501': { code: 'CONNECTION_LOST' },
  'NJS-503': { code: 'CONNECTION_LOST' },
  'NJS-521': { code: 'CONNECTION_LOST' },
  'NJS-511': { code: 'CONNECTION_LOST' },
  'NJS-510': { code: 'AUTH_TIMEOUT' },
  'NJS-509': { code: 'PROTOCOL_ERROR' },
  // thin mode cannot log in: a 10G-only password verifier, a server older than 12.1
  'NJS-116': {
    code: 'AUTH_UNSUPPORTED',
    stage: 'auth',
    message: (c) => `User ${c.user} has only an old (10G) password verifier, which this service cannot use`,
    hint: () =>
      'Ask the database administrator to reset the password with SQLNET.ALLOWED_LOGON_VERSION_SERVER at 12 or above, so an 11G/12C verifier exists.',
  },
  'NJS-138': {
    code: 'AUTH_UNSUPPORTED',
    stage: 'auth',
    message: () => 'The Oracle server is older than version 12.1, which this service cannot log in to',
    hint: () => 'Connect to an Oracle Database 12.1 or later.',
  },
  // thin driver TLS: wallet unusable, handshake refused, certificate DN / host name mismatch
  'NJS-505': { code: 'TLS_CONFIG_INVALID' },
  'NJS-506': { code: 'TLS_HANDSHAKE_FAILED' },
  'NJS-507': { code: 'TLS_HOSTNAME_MISMATCH' },
  'NJS-508': { code: 'TLS_HOSTNAME_MISMATCH' },
};

/**
 * The thin driver reports a listener's refusal as NJS-511 and writes the listener's own code (the
 * refuse packet's `ERR`) only into the message (`…was refused. … Cause: ORA-12516`): the one place
 * where text is read, because node-oracledb 26 keeps that number nowhere else. When the table knows
 * it, it says more than NJS-511.
 */
const LISTENER_CODE = /\bORA-\d{5}\b/;

/** `ORA-01017` for 1017: the table's key for a server error number. */
const oraCode = (errorNum: number) => `ORA-${String(errorNum).padStart(5, '0')}`;

/**
 * The row for a node-oracledb thin error. A server error carries `errorNum`, the number of the
 * protocol's error message (thin/protocol/protocol.js `_raiseException`); its `code` is derived by
 * the driver from the message's prefix, or replaced by an NJS code for some numbers (`adjustErrorXref`:
 * ORA-01089 becomes NJS-500), so the number is read first. The driver's own errors have only `code`
 * (`NJS-nnn`, set from the driver's error number in `getErr`).
 */
export function oracleFailure(error: unknown): FailureSpec | undefined {
  const { code, errorNum, message } = (error ?? {}) as {
    code?: unknown;
    errorNum?: unknown;
    message?: unknown;
  };
  if (typeof errorNum === 'number' && Number.isInteger(errorNum) && errorNum > 0) {
    const byNumber = ORACLE_ERRORS[oraCode(errorNum)];
    if (byNumber) return byNumber;
  }
  // Only the driver's own codes: an `ORA-` code without a number came from text.
  if (typeof code !== 'string' || !code.startsWith('NJS-')) return undefined;
  if (code === 'NJS-511' && typeof message === 'string') {
    const listenerCode = LISTENER_CODE.exec(message)?.[0];
    if (listenerCode && ORACLE_ERRORS[listenerCode]) return ORACLE_ERRORS[listenerCode];
  }
  return ORACLE_ERRORS[code];
}
