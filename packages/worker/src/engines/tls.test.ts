import type { TLSSocket } from 'node:tls';
import { VERIFICATION_CODES } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import { classifyTlsError, describeTls, isNotTlsError, TLS_ERROR_CODES } from './tls.js';

const rows = Object.entries(TLS_ERROR_CODES);
/** What the server's own certificate can be found to be (X509 verification results, Node's name check). */
const SERVER_CERTIFICATE_CODES = new Set([
  'TLS_CERT_UNTRUSTED',
  'TLS_HOSTNAME_MISMATCH',
  'TLS_CERT_EXPIRED',
  'TLS_CERT_NOT_YET_VALID',
]);

// Rows driven through real servers with real certificates: test/postgres-tls.int.test.ts,
// mysql-tls.int.test.ts, listener-tls.int.test.ts (untrusted, host name, expired, bad material).
describe('classifyTlsError', () => {
  it.each(rows)(
    '%s is a TLS code of the catalogue, reported at tls, and is found by its code',
    (code, mapped) => {
      expect(VERIFICATION_CODES[mapped].stages).toContain('tls');
      expect(classifyTlsError(Object.assign(new Error('x'), { code })).code).toBe(mapped);
    },
  );

  it.each(rows)(
    '%s maps by what OpenSSL names it: our material, an alert from the server, or its certificate',
    (code, mapped) => {
      if (code.startsWith('ERR_OSSL_')) expect(mapped).toBe('TLS_CONFIG_INVALID');
      else if (code.includes('_ALERT_')) expect(mapped).toBe('TLS_CLIENT_CERT_REJECTED');
      else expect(SERVER_CERTIFICATE_CODES).toContain(mapped);
    },
  );

  it('prefers the socket authorizationError when a driver rewrote err.code (mysql2 HANDSHAKE_SSL_ERROR)', () => {
    const rewritten = Object.assign(new Error('x'), { code: 'HANDSHAKE_SSL_ERROR' });
    expect(classifyTlsError(rewritten, 'ERR_TLS_CERT_ALTNAME_INVALID').code).toBe('TLS_HOSTNAME_MISMATCH');
    expect(classifyTlsError(rewritten, 'CERT_HAS_EXPIRED').code).toBe('TLS_CERT_EXPIRED');
    expect(classifyTlsError(rewritten, null).code).toBe('TLS_HANDSHAKE_FAILED');
  });

  it('treats other OpenSSL errors about our own material as TLS_CONFIG_INVALID', () => {
    expect(classifyTlsError({ code: 'ERR_OSSL_SOMETHING_NEW' }).code).toBe('TLS_CONFIG_INVALID');
  });

  it('falls back to TLS_HANDSHAKE_FAILED', () => {
    expect(classifyTlsError({ code: 'ERR_SSL_NO_PROTOCOLS_AVAILABLE' }).code).toBe('TLS_HANDSHAKE_FAILED');
    expect(classifyTlsError(new Error('no code')).code).toBe('TLS_HANDSHAKE_FAILED');
    expect(classifyTlsError(undefined).code).toBe('TLS_HANDSHAKE_FAILED');
  });
});

describe('isNotTlsError', () => {
  it.each([
    'ECONNRESET',
    'EPIPE',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'ERR_SSL_PACKET_LENGTH_TOO_LONG',
    'ERR_SSL_HTTP_REQUEST',
  ])('%s means the port has no TLS', (code) => {
    expect(isNotTlsError({ code })).toBe(true);
  });

  it.each(['SELF_SIGNED_CERT_IN_CHAIN', 'ETIMEDOUT', undefined])('%s does not', (code) => {
    expect(isNotTlsError({ code })).toBe(false);
  });
});

describe('describeTls', () => {
  const socket = (validTo: string | undefined) =>
    ({
      getProtocol: () => 'TLSv1.3',
      getCipher: () => ({
        name: 'TLS_AES_256_GCM_SHA384',
        standardName: 'TLS_AES_256_GCM_SHA384',
        version: 'TLSv1.3',
      }),
      getPeerCertificate: () => (validTo ? { valid_to: validTo } : {}),
    }) as unknown as TLSSocket;

  it('records version, cipher and expiry as ISO 8601', () => {
    expect(describeTls(socket('Jan  2 03:04:05 2031 GMT'))).toEqual({
      version: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      certExpiresAt: '2031-01-02T03:04:05.000Z',
    });
  });

  it('leaves the expiry out when the certificate has none readable', () => {
    expect(describeTls(socket(undefined))).toEqual({ version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
    expect(describeTls(socket('not a date')).certExpiresAt).toBeUndefined();
  });
});
