import type { SslMode } from './ssl.schema.js';

/** The stages of a verification, in the order they run (docs/contract.md §6). */
export const STAGE_NAMES = ['dns', 'tcp', 'tls', 'auth', 'database', 'schema'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** What a failure message may talk about. None of these is a secret. */
export interface FailureContext {
  /** Display name of the engine (`PostgreSQL`). */
  engine: string;
  host: string;
  port: number;
  user: string;
  database: string;
  /** The schema checked: the caller's, or the engine's default. */
  schema: string;
  sslMode: SslMode;
  stage: StageName;
  /** The budget the stage had when it timed out. */
  timeoutMs: number;
}

export type FailureText = (c: FailureContext) => string;

interface CodeEntry {
  /**
   * The stages a result may report this code at (as the failed stage's `code` and the error's
   * `stage`, or a skipped stage's `code`). A driver that does several stages in one call reports
   * at the stage the server got to, so some codes belong to more than one.
   */
  stages: readonly StageName[];
  /** Retried with backoff (docs/contract.md §6) rather than failing the connection at once. */
  transient: boolean;
  message: FailureText;
  /** Who can fix it, and how. */
  hint: FailureText;
}

const at = (c: FailureContext) => `${c.host}:${c.port}`;

/** Every stage after the socket opened: a server can hang up, misbehave or be busy at any of them. */
const AFTER_TCP = ['tls', 'auth', 'database', 'schema'] as const;
/** TLS failures: at `tls`, or at `auth` where the driver does TLS inside its login (Oracle TCPS), or a TLS 1.3 server's certificate alert arrives after the handshake. */
const TLS_STAGES = ['tls', 'auth'] as const;

const timeout = (stage: StageName, what: string): CodeEntry => ({
  stages: [stage],
  transient: true,
  message: (c) => `${what} at ${at(c)} did not finish within ${c.timeoutMs} ms`,
  hint: () =>
    'The server or the network is slow or silent; it is retried automatically. If it persists, ask the database administrator whether the server is overloaded or the port belongs to another service.',
});

/**
 * Every code a verification can end with, one entry per code: whether it is transient, the
 * message (what failed, in terms the user knows) and the hint (who can fix it).
 */
export const VERIFICATION_CODES = {
  // ---- dns
  DNS_NOT_FOUND: {
    stages: ['dns'],
    transient: false,
    message: (c) => `The host name ${c.host} does not exist in DNS — check the host`,
    hint: () => 'Correct the host of the connection, or ask your DNS administrator to publish the name.',
  },
  DNS_TEMPORARY: {
    stages: ['dns'],
    transient: true,
    message: (c) => `The DNS lookup of ${c.host} failed temporarily`,
    hint: () =>
      'Retried automatically. If it persists, ask your network administrator to check the DNS servers.',
  },
  DNS_TIMEOUT: timeout('dns', 'The DNS lookup'),
  HOST_FORBIDDEN: {
    stages: ['dns'],
    transient: false,
    // Generic on purpose (docs/contract.md §8): the user must not learn which rule matched.
    message: (c) => `Connections to ${c.host} are not allowed by this service's network policy`,
    hint: () => 'Use another host, or ask the operators of this service to allow this one.',
  },
  /** The target is the service's own store database, Redis or a listening port (docs/contract.md §8). */
  SELF_TARGET_FORBIDDEN: {
    stages: ['dns'],
    transient: false,
    message: (c) =>
      `${at(c)} is one of this service's own endpoints (its store database, its Redis or its listening ports), which are never dialled`,
    hint: () =>
      "Use your database's own host and port. Other databases on the same server as this service's store can be registered.",
  },
  // ---- tcp
  TCP_REFUSED: {
    stages: ['tcp'],
    transient: true,
    message: (c) =>
      `Nothing accepted a connection at ${at(c)} — check the port and that the server is running`,
    hint: () =>
      'Correct the port, or ask the database administrator to start the server or open the port in its firewall.',
  },
  TCP_TIMEOUT: timeout('tcp', 'Opening a TCP connection'),
  TCP_UNREACHABLE: {
    stages: ['tcp'],
    transient: true,
    message: (c) => `There is no network route to ${at(c)}`,
    hint: () => 'Ask your network administrator to let this service reach the database network.',
  },
  TCP_RESET: {
    stages: ['tcp'],
    transient: true,
    message: (c) => `The connection to ${at(c)} was reset while opening`,
    hint: () =>
      'Retried automatically. If it persists, a firewall or the server may be rejecting this service.',
  },
  TCP_FAILED: {
    stages: ['tcp'],
    transient: true,
    message: (c) => `A TCP connection to ${at(c)} could not be opened`,
    hint: () => 'Retried automatically. If it persists, ask your network administrator.',
  },
  // ---- tls
  TLS_NOT_OFFERED: {
    stages: ['tls'],
    transient: false,
    message: (c) => `The server at ${at(c)} does not offer TLS, but ssl.mode is ${c.sslMode}`,
    hint: () =>
      'Ask the database administrator to enable TLS on the server, or set ssl.mode to prefer or disable if an unencrypted connection is acceptable.',
  },
  /** The server refused a login without TLS and offers TLS: the user's ssl.mode is the cause, not the password. */
  TLS_REQUIRED: {
    stages: TLS_STAGES,
    transient: false,
    message: (c) =>
      `The server at ${at(c)} accepts only encrypted (TLS) connections, but ssl.mode is ${c.sslMode}`,
    hint: () =>
      'Set ssl.mode to verify-full (with ssl.ca when the server certificate is signed by a private authority), or to require to encrypt without checking the certificate.',
  },
  TLS_CERT_UNTRUSTED: {
    stages: TLS_STAGES,
    transient: false,
    message: (c) =>
      `The certificate of the server at ${at(c)} is not signed by a trusted certificate authority`,
    hint: () =>
      'Put the certificate of the authority that signed the server certificate in ssl.ca (ask the database administrator for it), or use ssl.mode require to encrypt without verifying.',
  },
  TLS_HOSTNAME_MISMATCH: {
    stages: TLS_STAGES,
    transient: false,
    message: (c) => `The certificate of the server at ${at(c)} is not issued for the name ${c.host}`,
    hint: () =>
      'Connect with a name the certificate lists, ask the database administrator for a certificate that includes this name, or use ssl.mode verify-ca.',
  },
  TLS_CERT_EXPIRED: {
    stages: TLS_STAGES,
    transient: false,
    message: (c) => `The certificate of the server at ${at(c)} has expired`,
    hint: () => 'Ask the database administrator to renew the server certificate.',
  },
  TLS_CERT_NOT_YET_VALID: {
    stages: TLS_STAGES,
    transient: false,
    message: (c) => `The certificate of the server at ${at(c)} is not valid yet`,
    hint: () => 'Ask the database administrator to check the certificate dates and the server clock.',
  },
  TLS_CLIENT_CERT_REJECTED: {
    stages: TLS_STAGES,
    transient: false,
    message: (c) => `The server at ${at(c)} did not accept the client certificate`,
    hint: () =>
      'Check ssl.cert and ssl.key, or ask the database administrator which certificate authority the server trusts for clients.',
  },
  TLS_CONFIG_INVALID: {
    stages: TLS_STAGES,
    transient: false,
    message: () => 'The TLS material of the connection (ssl.ca, ssl.cert or ssl.key) could not be used',
    hint: () =>
      'Check that ssl.ca, ssl.cert and ssl.key are valid PEM, unencrypted, and that the key matches the certificate.',
  },
  TLS_HANDSHAKE_FAILED: {
    stages: TLS_STAGES,
    transient: false,
    message: (c) => `The TLS handshake with the server at ${at(c)} failed`,
    hint: () =>
      'Check that the port speaks TLS the way this engine expects, or ask the database administrator which TLS versions and ciphers the server allows.',
  },
  TLS_TIMEOUT: timeout('tls', 'The TLS handshake'),
  // ---- auth
  AUTH_FAILED: {
    stages: ['auth'],
    transient: false,
    message: (c) => `The server refused the password for user ${c.user} — check the password`,
    hint: () =>
      'Update the password of the connection, or ask the database administrator to reset it for this user.',
  },
  /**
   * The server asked for the password in clear text over a connection without TLS (PostgreSQL
   * AuthenticationCleartextPassword, MySQL mysql_clear_password): it is not answered (docs/contract.md §8).
   */
  AUTH_CLEARTEXT_REFUSED: {
    stages: ['auth'],
    transient: false,
    message: (c) =>
      `The server at ${at(c)} asked for the password of user ${c.user} in clear text over an unencrypted connection; it was not sent`,
    hint: () =>
      'Set ssl.mode to require, verify-ca or verify-full so the password travels encrypted, or ask the database administrator to use a hashed password method (scram-sha-256 on PostgreSQL, caching_sha2_password or mysql_native_password on MySQL).',
  },
  AUTH_UNSUPPORTED: {
    stages: ['auth'],
    transient: false,
    message: (c) =>
      `The server asked user ${c.user} for an authentication method this service does not support`,
    hint: () => 'Ask the database administrator to allow password authentication for this user.',
  },
  HOST_NOT_ALLOWED: {
    stages: ['auth'],
    transient: false,
    message: (c) =>
      `The server at ${at(c)} does not accept user ${c.user} from this service's network address`,
    hint: () => "Ask the database administrator to allow this service's address for the user.",
  },
  SERVER_BUSY: {
    stages: AFTER_TCP,
    transient: true,
    message: (c) =>
      `The server at ${at(c)} refused new connections (too many connections, starting up or shutting down)`,
    hint: () =>
      'Retried automatically. If it persists, ask the database administrator to check the connection limits.',
  },
  AUTH_TIMEOUT: timeout('auth', 'Logging in'),
  // ---- database
  DATABASE_NOT_FOUND: {
    stages: ['database'],
    transient: false,
    message: (c) => `The database ${c.database} does not exist on the server at ${at(c)}`,
    hint: () => 'Correct databaseName, or ask the database administrator to create the database.',
  },
  DATABASE_TIMEOUT: timeout('database', 'Opening the database'),
  // ---- schema (PERMISSION_DENIED also at stage database: what is denied depends on the stage)
  SCHEMA_NOT_FOUND: {
    stages: ['schema'],
    transient: false,
    message: (c) => `The schema ${c.schema} does not exist in database ${c.database}`,
    hint: () => 'Correct the schema of the connection, or ask the database administrator to create it.',
  },
  PERMISSION_DENIED: {
    stages: ['database', 'schema'],
    transient: false,
    message: (c) =>
      c.stage === 'schema'
        ? `User ${c.user} may not read schema ${c.schema} in database ${c.database}`
        : `User ${c.user} may not open database ${c.database}`,
    hint: (c) =>
      c.stage === 'schema'
        ? `Ask the database administrator to grant ${c.user} read access to schema ${c.schema}.`
        : `Ask the database administrator to grant ${c.user} access to database ${c.database}.`,
  },
  SCHEMA_TIMEOUT: timeout('schema', 'Checking the schema'),
  // ---- schema discovery (after the schema stage, reported at it; verifications never end with these)
  DISCOVERY_FAILED: {
    stages: ['schema'],
    transient: false,
    message: (c) => `The tables and fields of schema ${c.schema} in database ${c.database} could not be read`,
    hint: (c) =>
      `The server refused the catalog query that lists them. Ask the database administrator whether ${c.user} may read the catalog of ${c.schema}; the worker log of this service has the server's answer.`,
  },
  DISCOVERY_TIMEOUT: {
    // Transient like every *_TIMEOUT, though discovery itself is never retried: the caller asks again.
    stages: ['schema'],
    transient: true,
    message: (c) =>
      `Reading the tables and fields of schema ${c.schema} at ${at(c)} did not finish within ${c.timeoutMs} ms`,
    hint: () =>
      'The schema may hold very many tables or collections, or the server is slow; try again later. If it persists, ask the operators of this service to raise the verification deadlines.',
  },
  // ---- any stage
  CONNECTION_LOST: {
    stages: AFTER_TCP,
    transient: true,
    message: (c) => `The server at ${at(c)} closed the connection during the ${c.stage} stage`,
    hint: () =>
      'Retried automatically. If it persists, the server log will say why it dropped the connection.',
  },
  /**
   * The server sent the login to another address (an Oracle listener REDIRECT, SQL Server routing):
   * not followed, since only the address that passed the egress policy is ever dialled.
   */
  REDIRECT_REFUSED: {
    stages: AFTER_TCP,
    transient: false,
    message: (c) =>
      `The server at ${at(c)} redirected the login to another address, which this service does not follow`,
    hint: () =>
      'Register the address that serves the database itself (the node or listener the server redirects to) as the host of the connection.',
  },
  PROTOCOL_ERROR: {
    stages: AFTER_TCP,
    transient: false,
    message: (c) =>
      `The server at ${at(c)} did not answer like a ${c.engine} server — check the type and the port`,
    hint: () => 'Correct the type or the port of the connection.',
  },
  ABORTED: {
    stages: STAGE_NAMES,
    transient: true,
    message: () => 'The verification was interrupted before it finished (the worker is shutting down)',
    hint: () => 'Nothing to do: it is run again.',
  },
  /**
   * The stored secrets do not open (the master key version they were sealed with was removed, or
   * the value is damaged). Reported at `auth`, the first stage that needs them; nothing is dialled.
   */
  SECRETS_UNREADABLE: {
    stages: ['auth'],
    transient: false,
    message: () =>
      'The stored credentials could not be decrypted with the configured master keys, so nothing was dialled',
    hint: () =>
      'An operator must configure the master key version they were sealed with, or someone must set the password again.',
  },
  UNEXPECTED_ERROR: {
    stages: STAGE_NAMES,
    transient: false,
    message: (c) => `The ${c.stage} stage failed with an unexpected error`,
    hint: () => 'Ask the operators of this service to look at the worker log.',
  },
} satisfies Record<string, CodeEntry>;

export type VerificationCode = keyof typeof VERIFICATION_CODES;

/** Every code, for `z.enum` (the `code` of a stage and of a verification error) and the OpenAPI document. */
export const VERIFICATION_CODE_NAMES = Object.keys(VERIFICATION_CODES) as [
  VerificationCode,
  ...VerificationCode[],
];

/** The timeout code of each stage. */
export const STAGE_TIMEOUT_CODES = {
  dns: 'DNS_TIMEOUT',
  tcp: 'TCP_TIMEOUT',
  tls: 'TLS_TIMEOUT',
  auth: 'AUTH_TIMEOUT',
  database: 'DATABASE_TIMEOUT',
  schema: 'SCHEMA_TIMEOUT',
} as const satisfies Record<StageName, VerificationCode>;

export function isVerificationCode(code: string): code is VerificationCode {
  return Object.hasOwn(VERIFICATION_CODES, code);
}

/**
 * Whether a failed verification is worth retrying (docs/contract.md §6): DNS_TEMPORARY, every TCP_* code,
 * every *_TIMEOUT, a busy server, a dropped connection, an interrupted run. Everything else
 * (forbidden host, TLS certificates, credentials, database, schema) is permanent. Unknown codes are
 * permanent, so a typo never turns into a retry loop.
 */
export function isTransientCode(code: string): boolean {
  return isVerificationCode(code) && VERIFICATION_CODES[code].transient;
}
