import { ACCOUNT_LOCKED, PASSWORD_EXPIRED } from '../failures/account.js';
import type { FailureSpec } from '../failures/stage-failure.js';

/** Oracle errors (`error.code`: `ORA-nnnnn` from the server, `NJS-nnn` from node-oracledb thin) → failure. */
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
 * The thin driver reports a listener's refusal as NJS-511 and puts the listener's own code in the
 * message (`…was refused. … Cause: ORA-12516`): that code, when the table knows it, says more.
 */
const LISTENER_CODE = /\bORA-\d{5}\b/;

export function oracleFailure(error: unknown): FailureSpec | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== 'string') return undefined;
  if (code === 'NJS-511' && typeof message === 'string') {
    const listenerCode = LISTENER_CODE.exec(message)?.[0];
    if (listenerCode && ORACLE_ERRORS[listenerCode]) return ORACLE_ERRORS[listenerCode];
  }
  return ORACLE_ERRORS[code];
}
