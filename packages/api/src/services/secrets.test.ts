import { randomBytes } from 'node:crypto';
import { AppError, type Keyring, openSecrets, type SslMode, sealSecrets } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import { secretsAfterChange } from './secrets.js';

/**
 * The credential-redirection rule (docs/contract.md §8): a change that sends the stored password
 * to another destination, or over weaker TLS, must carry it again.
 */

const keyring: Keyring = { keys: new Map([[1, randomBytes(32)]]) };
const CA = '-----BEGIN CERTIFICATE-----\nstored-ca\n-----END CERTIFICATE-----\n';
const OTHER_CA = '-----BEGIN CERTIFICATE-----\nanother-ca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nclient-key\n-----END PRIVATE KEY-----\n';

function stored(sslMode?: SslMode, material: { ca?: string; cert?: string; key?: string } = {}) {
  const ids = { organizationId: 'org', id: '0190c0de-0000-7000-8000-000000000001' };
  return {
    ...ids,
    type: 'POSTGRESQL' as const,
    host: 'db.example.com',
    port: 5432,
    sslMode,
    sealedSecrets: sealSecrets(
      keyring,
      { password: 'stored-password', ...material },
      { organizationId: ids.organizationId, connectionId: ids.id },
    ),
  };
}

/** The field errors the change is refused with, or [] when it is allowed. */
function refusal(record: ReturnType<typeof stored>, input: Parameters<typeof secretsAfterChange>[2]) {
  try {
    secretsAfterChange(keyring, record, input);
    return [];
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    expect(err.code).toBe('VALIDATION_FAILED');
    return (err.errors ?? []).map((e) => e.field);
  }
}

describe('a change that redirects the stored password needs it again', () => {
  it.each([
    ['type', { type: 'MYSQL' as const }],
    ['host', { host: 'attacker.example.net' }],
    ['port', { port: 6543 }],
    ['host and port with ssl null', { host: '127.0.0.1', port: 15432, ssl: null }],
  ])('%s without a password → 400 naming password; with it → allowed', (_, change) => {
    const record = stored('require');
    expect(refusal(record, change)).toEqual(['password']);
    expect(refusal(record, { ...change, password: 'given-again' })).toEqual([]);
  });

  it('the message says why', () => {
    expect(() => secretsAfterChange(keyring, stored(), { host: 'elsewhere.example.net' })).toThrow(
      expect.objectContaining({
        errors: [
          {
            field: 'password',
            message: expect.stringMatching(/host changes where the stored credentials would be sent.*again/),
          },
        ],
      }),
    );
  });

  it('the same destination in other letter case, or the same values again, is not a redirection', () => {
    const record = stored('require');
    expect(refusal(record, { host: 'DB.Example.COM', port: 5432, type: 'POSTGRESQL' })).toEqual([]);
  });

  it.each<[SslMode | undefined, SslMode | null]>([
    ['verify-full', 'verify-ca'],
    ['verify-full', 'require'],
    ['verify-ca', 'prefer'],
    ['require', 'disable'],
    ['prefer', 'disable'],
    ['require', null],
  ])('ssl %s → %s is weaker: the password is needed', (before, after) => {
    const record = stored(before);
    const ssl = after === null ? null : { mode: after };
    expect(refusal(record, { ssl })).toEqual(['password']);
    expect(refusal(record, { ssl, password: 'given-again' })).toEqual([]);
  });

  it.each<[SslMode | undefined, SslMode]>([
    [undefined, 'disable'],
    [undefined, 'prefer'],
    ['disable', 'require'],
    ['require', 'verify-full'],
    ['verify-ca', 'verify-ca'],
  ])('ssl %s → %s is not weaker', (before, after) => {
    expect(refusal(stored(before), { ssl: { mode: after } })).toEqual([]);
  });

  it('a stored CA removed, or replaced by another, needs the password; the same CA again does not', () => {
    const record = stored('verify-full', { ca: CA });
    expect(refusal(record, { ssl: null })).toEqual(['password']);
    expect(refusal(record, { ssl: { mode: 'verify-full', ca: OTHER_CA } })).toEqual(['password']);
    expect(refusal(record, { ssl: { mode: 'verify-full', ca: CA } })).toEqual([]);
    expect(refusal(record, { ssl: { mode: 'verify-full' } })).toEqual([]);
    // A CA where the chain was checked against the system store is another trust anchor too...
    expect(refusal(stored('verify-full'), { ssl: { mode: 'verify-full', ca: OTHER_CA } })).toEqual([
      'password',
    ]);
    // ...but under require without a CA nothing was checked: a CA only adds a check.
    expect(refusal(stored('require'), { ssl: { mode: 'require', ca: OTHER_CA } })).toEqual([]);
  });

  it('a stored client key must be sent again too, unless the change drops it', () => {
    const record = stored('verify-full', { cert: CERT, key: KEY });
    expect(refusal(record, { host: 'elsewhere.example.net' })).toEqual(['password', 'ssl.key']);
    expect(refusal(record, { host: 'elsewhere.example.net', password: 'p' })).toEqual(['ssl.key']);
    expect(
      refusal(record, {
        host: 'elsewhere.example.net',
        password: 'p',
        ssl: { mode: 'verify-full', cert: CERT, key: KEY },
      }),
    ).toEqual([]);
    // ssl: null drops the key, so only the password is needed.
    expect(refusal(record, { ssl: null })).toEqual(['password']);
  });

  it('what is allowed dials with the given password and keeps the stored material', () => {
    const record = stored('verify-full', { ca: CA });
    const applied = secretsAfterChange(keyring, record, { port: 6543, password: 'given-again' });
    expect(applied?.secrets).toEqual({ password: 'given-again', ca: CA });
    expect(applied?.sslMode).toBe('verify-full');
    // Nothing secret and no new destination: the stored secrets are not even opened.
    expect(
      secretsAfterChange(keyring, { ...record, sealedSecrets: 'damaged' }, { port: 5432 }),
    ).toBeUndefined();
    expect(
      openSecrets(keyring, record.sealedSecrets, { organizationId: 'org', connectionId: record.id }),
    ).toEqual({
      password: 'stored-password',
      ca: CA,
    });
  });
});
