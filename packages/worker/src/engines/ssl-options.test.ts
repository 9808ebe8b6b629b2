import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { type SslMode, SslModeSchema } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import {
  mongoTlsOptions,
  mysqlSslOptions,
  nodeTlsOptions,
  oracleTlsOptions,
  sqlServerTlsOptions,
  tlsPolicyFor,
} from './ssl-options.js';
import type { DialSettings } from './types.js';

const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----';
const CERT = '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----';
const KEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----';

const policy = (
  type: DialSettings['type'],
  mode: SslMode,
  material: { ca?: string; cert?: string; key?: string } = {},
  host = 'db.example.com',
) => tlsPolicyFor({ type, host, ssl: { mode, ...material } });

/** The libpq table of docs/contract.md §5, for every engine but Oracle. */
const MEANING: [
  SslMode,
  { use: string; verifyChain: boolean; verifyChainWithCa: boolean; verifyHostname: boolean },
][] = [
  ['disable', { use: 'never', verifyChain: false, verifyChainWithCa: false, verifyHostname: false }],
  ['prefer', { use: 'if-offered', verifyChain: false, verifyChainWithCa: false, verifyHostname: false }],
  ['require', { use: 'always', verifyChain: false, verifyChainWithCa: true, verifyHostname: false }],
  ['verify-ca', { use: 'always', verifyChain: true, verifyChainWithCa: true, verifyHostname: false }],
  ['verify-full', { use: 'always', verifyChain: true, verifyChainWithCa: true, verifyHostname: true }],
];

describe('tlsPolicyFor (docs/contract.md §5)', () => {
  describe.each(['POSTGRESQL', 'MYSQL', 'SQL_SERVER', 'MONGODB'] as const)('%s', (type) => {
    it.each(MEANING)('%s', (mode, meaning) => {
      expect(policy(type, mode)).toMatchObject({
        use: meaning.use,
        verifyChain: meaning.verifyChain,
        verifyHostname: meaning.verifyHostname,
      });
      expect(policy(type, mode, { ca: CA }).verifyChain).toBe(meaning.verifyChainWithCa);
    });
  });

  it('ORACLE always verifies the chain when TLS is used (thin mode cannot switch it off)', () => {
    expect(policy('ORACLE', 'disable').verifyChain).toBe(false);
    for (const mode of ['prefer', 'require', 'verify-ca', 'verify-full'] as const) {
      expect(policy('ORACLE', mode).verifyChain).toBe(true);
    }
    expect(policy('ORACLE', 'verify-ca').verifyHostname).toBe(false);
    expect(policy('ORACLE', 'verify-full').verifyHostname).toBe(true);
  });

  it('treats no ssl as disable and drops a trailing dot from the host', () => {
    expect(tlsPolicyFor({ type: 'POSTGRESQL', host: 'db.example.com.' })).toMatchObject({
      mode: 'disable',
      use: 'never',
      host: 'db.example.com',
    });
  });

  it.each([
    ['disabled', 'disable'],
    ['false', 'disable'],
    ['preferred', 'prefer'],
    ['required', 'require'],
    ['skip-verify', 'require'],
    ['insecure', 'require'],
    ['verify_ca', 'verify-ca'],
    ['verify_identity', 'verify-full'],
    ['true', 'verify-full'],
    ['strict', 'verify-full'],
    ['VERIFY-FULL', 'verify-full'],
  ])('an engine alias %s means %s', (alias, mode) => {
    expect(SslModeSchema.parse(alias)).toBe(mode);
    expect(tlsPolicyFor({ type: 'MYSQL', host: 'h', ssl: { mode: SslModeSchema.parse(alias) } }).mode).toBe(
      mode,
    );
  });
});

describe('nodeTlsOptions (PostgreSQL handshake, listener probes)', () => {
  it.each([
    ['prefer', false],
    ['require', false],
    ['verify-ca', true],
    ['verify-full', true],
  ] as const)('%s: rejectUnauthorized %s', (mode, reject) => {
    expect(nodeTlsOptions(policy('POSTGRESQL', mode)).rejectUnauthorized).toBe(reject);
  });

  it('passes ca, cert and key, and SNI = the host name', () => {
    expect(
      nodeTlsOptions(policy('POSTGRESQL', 'verify-full', { ca: CA, cert: CERT, key: KEY })),
    ).toMatchObject({
      ca: CA,
      cert: CERT,
      key: KEY,
      servername: 'db.example.com',
    });
  });

  it('sends no SNI for an IP address', () => {
    expect(nodeTlsOptions(policy('POSTGRESQL', 'verify-full', {}, '10.0.0.1')).servername).toBeUndefined();
  });

  it('checks the certificate name against the original host, only under verify-full', () => {
    const cert = {
      subject: { CN: 'db.example.com' },
      subjectaltname: 'DNS:db.example.com',
    } as PeerCertificate;
    const full = nodeTlsOptions(policy('POSTGRESQL', 'verify-full'));
    // Whatever name tls.connect passes (it would pass the dialled address), the original host is checked.
    expect(full.checkServerIdentity?.('10.0.0.1', cert)).toBeUndefined();
    expect(checkServerIdentity('10.0.0.1', cert)).toBeInstanceOf(Error);
    const other = nodeTlsOptions(policy('POSTGRESQL', 'verify-full', {}, 'other.example.com'));
    expect(other.checkServerIdentity?.('other.example.com', cert)).toBeInstanceOf(Error);
    const chainOnly = nodeTlsOptions(policy('POSTGRESQL', 'verify-ca', {}, 'other.example.com'));
    expect(chainOnly.checkServerIdentity?.('other.example.com', cert)).toBeUndefined();
  });
});

describe('mysqlSslOptions', () => {
  it.each([
    ['disable', undefined],
    ['prefer', { rejectUnauthorized: false, verifyIdentity: false }],
    ['require', { rejectUnauthorized: false, verifyIdentity: false }],
    ['verify-ca', { rejectUnauthorized: true, verifyIdentity: false }],
    ['verify-full', { rejectUnauthorized: true, verifyIdentity: true }],
  ] as const)('%s', (mode, expected) => {
    expect(mysqlSslOptions(policy('MYSQL', mode))).toEqual(expected);
  });

  it('passes ca, cert and key; require with a CA verifies the chain', () => {
    expect(mysqlSslOptions(policy('MYSQL', 'require', { ca: CA, cert: CERT, key: KEY }))).toEqual({
      ca: CA,
      cert: CERT,
      key: KEY,
      rejectUnauthorized: true,
      verifyIdentity: false,
    });
  });
});

describe('sqlServerTlsOptions', () => {
  it.each([
    ['disable', { encrypt: false, trustServerCertificate: true }],
    ['prefer', { encrypt: true, trustServerCertificate: true }],
    ['require', { encrypt: true, trustServerCertificate: true }],
    // tedious cannot verify the chain without the name: the adapter checks it on 'secure'
    ['verify-ca', { encrypt: true, trustServerCertificate: true }],
    ['verify-full', { encrypt: true, trustServerCertificate: false }],
  ] as const)('%s', (mode, expected) => {
    expect(sqlServerTlsOptions(policy('SQL_SERVER', mode))).toMatchObject({
      ...expected,
      serverName: 'db.example.com',
    });
  });

  it('passes ca, cert and key as the secure context, and no serverName for an IP', () => {
    const options = sqlServerTlsOptions(
      policy('SQL_SERVER', 'verify-full', { ca: CA, cert: CERT, key: KEY }, '10.0.0.1'),
    );
    expect(options.cryptoCredentialsDetails).toEqual({ ca: CA, cert: CERT, key: KEY });
    expect(options.serverName).toBeUndefined();
  });
});

describe('oracleTlsOptions', () => {
  it('uses TCP when the listener has no TLS (or the mode is disable)', () => {
    expect(oracleTlsOptions(policy('ORACLE', 'disable'), { useTls: false })).toEqual({
      protocol: 'TCP',
      sslServerDNMatch: false,
    });
    expect(oracleTlsOptions(policy('ORACLE', 'prefer'), { useTls: false })).toEqual({
      protocol: 'TCP',
      sslServerDNMatch: false,
    });
  });

  it.each(['prefer', 'require', 'verify-ca'] as const)('%s: TCPS without a name check', (mode) => {
    expect(oracleTlsOptions(policy('ORACLE', mode), { useTls: true, certSubjectDn: 'CN=db' })).toEqual({
      protocol: 'TCPS',
      sslServerDNMatch: false,
    });
  });

  it('verify-full: TCPS, pinned to the subject the probe checked against the host name', () => {
    expect(
      oracleTlsOptions(policy('ORACLE', 'verify-full'), { useTls: true, certSubjectDn: 'CN=db.example.com' }),
    ).toEqual({
      protocol: 'TCPS',
      sslServerDNMatch: true,
      sslServerCertDN: 'CN=db.example.com',
    });
  });

  it('puts client certificate, key and CA in one wallet, certificate first', () => {
    const options = oracleTlsOptions(policy('ORACLE', 'verify-ca', { ca: CA, cert: CERT, key: KEY }), {
      useTls: true,
    });
    expect(options.walletContent).toBe(`${CERT}\n${KEY}\n${CA}`);
  });
});

describe('mongoTlsOptions', () => {
  it('turns TLS off when the listener has none', () => {
    expect(mongoTlsOptions(policy('MONGODB', 'prefer'), { useTls: false })).toEqual({ tls: false });
  });

  it.each([
    ['prefer', false],
    // a CA is given: require verifies the chain, like libpq
    ['require', true],
    ['verify-ca', true],
    ['verify-full', true],
  ] as const)('%s with a CA: rejectUnauthorized %s, SNI and material passed through', (mode, reject) => {
    const options = mongoTlsOptions(policy('MONGODB', mode, { ca: CA, cert: CERT, key: KEY }), {
      useTls: true,
    });
    expect(options).toMatchObject({
      tls: true,
      ca: CA,
      cert: CERT,
      key: KEY,
      servername: 'db.example.com',
      rejectUnauthorized: reject,
    });
  });
});
