import type { Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { VerificationCode } from '@dbconn/shared';
import { fail, type StageFailure } from '../failures/stage-failure.js';
import { nodeTlsOptions, type TlsPolicy } from './ssl-options.js';
import type { TlsInfo } from './types.js';

/**
 * Node/OpenSSL error codes seen during a TLS handshake, and what they mean to the user. Certificate
 * verification codes come from OpenSSL's X509_V_ERR names (Node's `err.code`, or
 * `socket.authorizationError` when a driver rewrote the error).
 */
export const TLS_ERROR_CODES: Record<string, VerificationCode> = {
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
  // The server refused our client certificate (or wanted one and got none).
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'TLS_CLIENT_CERT_REJECTED',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'TLS_CLIENT_CERT_REJECTED',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'TLS_CLIENT_CERT_REJECTED',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'TLS_CLIENT_CERT_REJECTED',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'TLS_CLIENT_CERT_REJECTED',
  // Our own material could not be loaded (bad PEM, key not matching the certificate).
  ERR_OSSL_PEM_NO_START_LINE: 'TLS_CONFIG_INVALID',
  ERR_OSSL_PEM_BAD_BASE64_DECODE: 'TLS_CONFIG_INVALID',
  ERR_OSSL_UNSUPPORTED: 'TLS_CONFIG_INVALID',
  ERR_OSSL_X509_KEY_VALUES_MISMATCH: 'TLS_CONFIG_INVALID',
  ERR_OSSL_EVP_BAD_DECRYPT: 'TLS_CONFIG_INVALID',
  ERR_OSSL_BAD_DECRYPT: 'TLS_CONFIG_INVALID',
};

/**
 * Errors that mean "this port does not speak TLS": the server hung up on the ClientHello or
 * answered in plain text. Used where TLS is a property of the listener (Oracle, MongoDB).
 */
const NOT_TLS_ERROR_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_UNEXPECTED_EOF_WHILE_READING',
]);

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** Classifies a TLS handshake error. `authorizationError` is the socket's, when a driver overwrote `err.code`. */
export function classifyTlsError(error: unknown, authorizationError?: string | null): StageFailure {
  const candidates = [authorizationError ?? undefined, codeOf(error)];
  for (const candidate of candidates) {
    const mapped = candidate ? TLS_ERROR_CODES[candidate] : undefined;
    if (mapped) return fail(mapped, error);
  }
  const code = codeOf(error);
  if (code?.startsWith('ERR_OSSL_') || code === 'ERR_INVALID_ARG_TYPE')
    return fail('TLS_CONFIG_INVALID', error);
  return fail('TLS_HANDSHAKE_FAILED', error);
}

export const isNotTlsError = (error: unknown): boolean => {
  const code = codeOf(error);
  return code !== undefined && NOT_TLS_ERROR_CODES.has(code);
};

/** Negotiated version and cipher, and the server certificate's expiry. */
export function describeTls(socket: TLSSocket): TlsInfo {
  const expiry = socket.getPeerCertificate()?.valid_to;
  const expiresAt = expiry ? new Date(expiry) : undefined;
  return {
    version: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    ...(expiresAt && !Number.isNaN(expiresAt.getTime()) ? { certExpiresAt: expiresAt.toISOString() } : {}),
  };
}

/**
 * Runs a TLS handshake on an open socket under the policy. Resolves with the secure socket; on
 * failure rejects with a classified StageFailure (`onUnexpectedClose` decides what a hang-up
 * means: for a listener probe it is "no TLS here").
 */
export function startTls(
  socket: Socket,
  policy: TlsPolicy,
  signal: AbortSignal,
  onUnexpectedClose: (error: unknown) => StageFailure = (error) => classifyTlsError(error),
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    let secure: TLSSocket;
    try {
      secure = tlsConnect({ ...nodeTlsOptions(policy), socket });
    } catch (error) {
      // createSecureContext throws synchronously on unusable PEM.
      reject(classifyTlsError(error));
      return;
    }
    const onAbort = () => secure.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    secure.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      // onError stays attached for the socket's life: an 'error' without a listener would crash the worker.
      resolve(secure);
    });
    const onError = (error: unknown) => {
      signal.removeEventListener('abort', onAbort);
      secure.destroy();
      if (TLS_ERROR_CODES[codeOf(error) ?? ''] || !isNotTlsError(error)) reject(classifyTlsError(error));
      else reject(onUnexpectedClose(error));
    };
    secure.once('error', onError);
  });
}

/**
 * For engines whose listener is either TLS or not (Oracle TCPS, MongoDB): tries a handshake on the
 * tcp stage's socket. A server that hangs up on the ClientHello or answers in clear text has no
 * TLS on this port (undefined); certificate problems are failures like anywhere else.
 */
export async function probeListenerTls(
  socket: Socket,
  policy: TlsPolicy,
  signal: AbortSignal,
): Promise<TLSSocket | undefined> {
  try {
    return await startTls(socket, policy, signal, (error) => fail('TLS_NOT_OFFERED', error));
  } catch (error) {
    if ((error as StageFailure).code === 'TLS_NOT_OFFERED') return undefined;
    throw error;
  }
}
