import { ACCOUNT_LOCKED, PASSWORD_EXPIRED } from '../failures/account.js';
import type { FailureSpec } from '../failures/stage-failure.js';

/**
 * SQL Server error numbers (from the login's error tokens or a RequestError) → failure. Order
 * matters: a login that cannot open its database gets 4060 *and* 18456, and 4060 is the precise one.
 */
export const SQLSERVER_ERRORS: [number, FailureSpec][] = [
  // Cannot open database requested by the login (missing, or no access: the server does not say which)
  [
    4060,
    {
      code: 'DATABASE_NOT_FOUND',
      stage: 'database',
      priorStages: 'ok',
      message: (c) => `The database ${c.database} does not exist, or user ${c.user} may not open it`,
      hint: (c) =>
        `Correct databaseName, or ask the database administrator to create a user for ${c.user} in ${c.database}.`,
    },
  ],
  // The server principal is not able to access the database under the current security context
  [916, { code: 'PERMISSION_DENIED', stage: 'database', priorStages: 'ok' }],
  // The SELECT/... permission was denied on the object
  [229, { code: 'PERMISSION_DENIED', stage: 'schema' }],
  // Login failed for user
  [18456, { code: 'AUTH_FAILED', stage: 'auth' }],
  // Password expired / must be changed
  [18487, PASSWORD_EXPIRED],
  [18488, { ...PASSWORD_EXPIRED, message: (c) => `The password of user ${c.user} must be changed` }],
  // Account locked out
  [18486, ACCOUNT_LOCKED],
  // Login from an untrusted domain (Windows authentication only)
  [18452, { code: 'AUTH_UNSUPPORTED', stage: 'auth' }],
  // Server is starting up / in single-user mode / paused
  [18401, { code: 'SERVER_BUSY' }],
  [17809, { code: 'SERVER_BUSY' }],
  [18451, { code: 'SERVER_BUSY' }],
];

/** tedious' own codes, for errors without a server number. */
export const TEDIOUS_CODES: Record<string, FailureSpec> = {
  // The server requires encryption and the client asked for none (ConnectionError).
  EENCRYPT: { code: 'TLS_REQUIRED' },
  // The socket failed or the server hung up (ConnectionError; its cause is the socket's error).
  ESOCKET: { code: 'CONNECTION_LOST' },
  // The connection closed while a request was in flight (RequestError).
  ECLOSE: { code: 'CONNECTION_LOST' },
  // A request on a connection tedious has already closed: the adapter runs one request at a time
  // and only after the login, so the server hung up between two requests (RequestError).
  EINVALIDSTATE: { code: 'CONNECTION_LOST' },
  // Login refused; the numbers of the server's error tokens, when known, are more precise.
  ELOGIN: { code: 'AUTH_FAILED', stage: 'auth' },
};

/**
 * The server error numbers an error carries: RequestError.number, those of a tedious
 * AggregateError (`errors`), and those mssql keeps of the errors before the last one
 * (`precedingErrors`).
 */
function numbersOf(error: unknown): unknown[] {
  const { number, errors, precedingErrors } =
    (error as { number?: unknown; errors?: unknown; precedingErrors?: unknown } | null) ?? {};
  const numbers = (list: unknown) =>
    Array.isArray(list) ? list.map((e) => (e as { number?: unknown } | null)?.number) : [];
  return [number, ...numbers(errors), ...numbers(precedingErrors)];
}

/**
 * Classifies an mssql or tedious error. `numbers` are the server's error numbers seen during the login
 * (tedious emits them as 'errorMessage' tokens; its ConnectionError ELOGIN carries none). After the
 * login a failed request is a RequestError with the server's `number`, or an AggregateError of
 * RequestErrors when the server sent several errors. A ConnectionError wraps the socket's error in
 * `cause`.
 */
export function sqlServerFailure(numbers: readonly number[], error: unknown): FailureSpec | undefined {
  const all = [...numbers, ...numbersOf(error)].filter((n): n is number => typeof n === 'number');
  for (const [number, spec] of SQLSERVER_ERRORS) if (all.includes(number)) return spec;
  // mssql wraps tedious' error (`originalError`); tedious wraps the socket's (`cause`). The
  // innermost known code is the precise one: mssql copies tedious' code onto its own wrapper.
  for (let link: unknown = error, depth = 0; link && depth < 5; depth++) {
    const { code, cause, errors, originalError } = link as {
      code?: unknown;
      cause?: unknown;
      errors?: unknown;
      originalError?: unknown;
    };
    if (typeof code === 'string' && TEDIOUS_CODES[code]) return TEDIOUS_CODES[code];
    link = originalError ?? cause ?? (Array.isArray(errors) ? errors[0] : undefined);
  }
  return undefined;
}
