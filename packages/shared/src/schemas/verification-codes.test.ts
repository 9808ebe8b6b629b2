import { describe, expect, it } from 'vitest';
import {
  type FailureContext,
  isTransientCode,
  STAGE_TIMEOUT_CODES,
  VERIFICATION_CODES,
} from './verification-codes.js';

const TRANSIENT = [
  'DNS_TEMPORARY',
  'DNS_TIMEOUT',
  'TCP_REFUSED',
  'TCP_TIMEOUT',
  'TCP_UNREACHABLE',
  'TCP_RESET',
  'TCP_FAILED',
  'TLS_TIMEOUT',
  'AUTH_TIMEOUT',
  'DATABASE_TIMEOUT',
  'SCHEMA_TIMEOUT',
  'DISCOVERY_TIMEOUT',
  'SERVER_BUSY',
  'CONNECTION_LOST',
  'ABORTED',
];

const PERMANENT = [
  'DNS_NOT_FOUND',
  'SECRETS_UNREADABLE',
  'REDIRECT_REFUSED',
  'HOST_FORBIDDEN',
  'TLS_NOT_OFFERED',
  'TLS_REQUIRED',
  'TLS_CERT_UNTRUSTED',
  'TLS_HOSTNAME_MISMATCH',
  'TLS_CERT_EXPIRED',
  'TLS_CERT_NOT_YET_VALID',
  'TLS_CLIENT_CERT_REJECTED',
  'TLS_CONFIG_INVALID',
  'TLS_HANDSHAKE_FAILED',
  'AUTH_FAILED',
  'AUTH_UNSUPPORTED',
  'HOST_NOT_ALLOWED',
  'DATABASE_NOT_FOUND',
  'SCHEMA_NOT_FOUND',
  'PERMISSION_DENIED',
  'DISCOVERY_FAILED',
  'PROTOCOL_ERROR',
  'UNEXPECTED_ERROR',
];

const context: FailureContext = {
  engine: 'PostgreSQL',
  host: 'db.example.com',
  port: 5432,
  user: 'app_user',
  database: 'sales',
  schema: 'reporting',
  sslMode: 'verify-full',
  stage: 'auth',
  timeoutMs: 5000,
};

describe('isTransientCode (spec §6)', () => {
  it('classifies every code, transient or permanent', () => {
    expect([...TRANSIENT, ...PERMANENT].sort()).toEqual(Object.keys(VERIFICATION_CODES).sort());
  });

  it.each(TRANSIENT)('%s is transient', (code) => {
    expect(isTransientCode(code)).toBe(true);
  });

  it.each(PERMANENT)('%s is permanent', (code) => {
    expect(isTransientCode(code)).toBe(false);
  });

  it('every TCP_* and every *_TIMEOUT is transient', () => {
    for (const code of Object.keys(VERIFICATION_CODES)) {
      if (code.startsWith('TCP_') || code.endsWith('_TIMEOUT'))
        expect(isTransientCode(code), code).toBe(true);
    }
    for (const code of Object.values(STAGE_TIMEOUT_CODES)) expect(isTransientCode(code)).toBe(true);
  });

  it('an unknown code is permanent (a typo never becomes a retry loop)', () => {
    expect(isTransientCode('NOPE_TIMEOUTISH')).toBe(false);
    expect(isTransientCode('toString')).toBe(false);
  });
});

describe('messages and hints', () => {
  it.each(Object.keys(VERIFICATION_CODES))('%s has a message and a hint for every stage', (code) => {
    const entry = VERIFICATION_CODES[code as keyof typeof VERIFICATION_CODES];
    for (const stage of ['dns', 'tcp', 'tls', 'auth', 'database', 'schema'] as const) {
      const message = entry.message({ ...context, stage });
      const hint = entry.hint({ ...context, stage });
      expect(message.length).toBeGreaterThan(10);
      expect(hint.length).toBeGreaterThan(10);
      expect(`${message} ${hint}`).not.toMatch(/undefined|null|\[object/);
    }
  });

  it('says what failed in the user’s terms', () => {
    expect(VERIFICATION_CODES.AUTH_FAILED.message(context)).toBe(
      'The server refused the password for user app_user — check the password',
    );
    expect(VERIFICATION_CODES.PERMISSION_DENIED.message({ ...context, stage: 'schema' })).toContain(
      'schema reporting',
    );
    expect(VERIFICATION_CODES.PERMISSION_DENIED.message({ ...context, stage: 'database' })).toContain(
      'database sales',
    );
    expect(VERIFICATION_CODES.AUTH_TIMEOUT.message(context)).toContain('5000 ms');
  });
});
