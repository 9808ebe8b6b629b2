import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { classifyTlsError, describeTls, isNotTlsError, TLS_ERROR_CODES } from './tls.js';

/** Every row of the TLS error table, written out: a row added to the table must be added here. */
const EXPECTED: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS_CERT_UNTRUSTED',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS_CERT_UNTRUSTED',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS_CERT_UNTRUSTED',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS_CERT_UNTRUSTED',
  UNABLE_TO_GET_ISSUER_CERT: 'TLS_CERT_UNTRUSTED',
  CERT_SIGNATURE_FAILURE: 'TLS_CERT_UNTRUSTED',
  CERT_UNTRUSTED: 'TLS_CERT_UNTRUSTED',
  CERT_REJECTED: 'TLS_CERT_UNTRUSTED',
  INVALID_CA: 'TLS_CERT_UNTRUSTED',
  INVALID_PURPOSE: 'TLS_CERT_UNTRUSTED',
  PATH_LENGTH_EXCEEDED: 'TLS_CERT_UNTRUSTED',
  CERT_REVOKED: 'TLS_CERT_UNTRUSTED',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS_HOSTNAME_MISMATCH',
  HOSTNAME_MISMATCH: 'TLS_HOSTNAME_MISMATCH',
  CERT_HAS_EXPIRED: 'TLS_CERT_EXPIRED',
  CERT_NOT_YET_VALID: 'TLS_CERT_NOT_YET_VALID',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'TLS_CLIENT_CERT_REJECTED',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'TLS_CLIENT_CERT_REJECTED',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'TLS_CLIENT_CERT_REJECTED',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'TLS_CLIENT_CERT_REJECTED',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'TLS_CLIENT_CERT_REJECTED',
  ERR_OSSL_PEM_NO_START_LINE: 'TLS_CONFIG_INVALID',
  ERR_OSSL_PEM_BAD_BASE64_DECODE: 'TLS_CONFIG_INVALID',
  ERR_OSSL_UNSUPPORTED: 'TLS_CONFIG_INVALID',
  ERR_OSSL_X509_KEY_VALUES_MISMATCH: 'TLS_CONFIG_INVALID',
  ERR_OSSL_EVP_BAD_DECRYPT: 'TLS_CONFIG_INVALID',
  ERR_OSSL_BAD_DECRYPT: 'TLS_CONFIG_INVALID',
};

describe('classifyTlsError', () => {
  it('has a test row for every table row', () => {
    expect(Object.keys(TLS_ERROR_CODES).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s → %s', (code, expected) => {
    expect(classifyTlsError(Object.assign(new Error('x'), { code })).code).toBe(expected);
  });

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
