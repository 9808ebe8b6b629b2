import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import {
  type CertificateAuthority,
  makeCa,
  randomSuffix,
  startTlsMariadb,
  type TlsMariadbFixture,
} from './fixtures/index.js';
import { dialSettings, stageSummary, verifyOptions, visibleText } from './helpers/verify.js';

/** TLS modes against a private mariadbd with its own CA (see fixtures/mariadb.ts). */

let server: TlsMariadbFixture;
let otherCa: CertificateAuthority;
const suffix = randomSuffix();
const user = `dbconn_t_${suffix}`;
const x509User = `dbconn_t_${suffix}_x509`;
const password = `Tls-${suffix}!`;

beforeAll(async () => {
  [server, otherCa] = await Promise.all([startTlsMariadb(), makeCa('unrelated CA')]);
  await server.admin('CREATE DATABASE app');
  for (const host of ['127.0.0.1', 'localhost']) {
    await server.admin('CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
    await server.admin('GRANT SELECT ON app.* TO ?@?', [user, host]);
    await server.admin('CREATE USER ?@? IDENTIFIED BY ? REQUIRE X509', [x509User, host, password]);
    await server.admin('GRANT SELECT ON app.* TO ?@?', [x509User, host]);
  }
});

afterAll(async () => {
  await server?.stop();
  await otherCa?.remove();
});

const settings = (overrides: Partial<DialSettings> = {}) =>
  dialSettings({
    type: 'MYSQL',
    port: server.port,
    userName: user,
    password,
    databaseName: 'app',
    ...overrides,
  });

describe('MariaDB over TLS', () => {
  it('passes verify-full with the right CA and records TLS version, cipher and certificate expiry', async () => {
    const result = await verifyConnection(
      settings({ host: 'localhost', ssl: { mode: 'verify-full', ca: server.ca } }),
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
    expect(stageSummary(result).tls).toBe('ok');
    expect(result.server?.tls?.version).toMatch(/^TLSv1\.[23]$/);
    expect(result.server?.tls?.cipher).toMatch(/\w/);
    expect(Date.parse(result.server?.tls?.certExpiresAt ?? '')).toBeGreaterThan(Date.now());
  });

  it('fails with TLS_CERT_UNTRUSTED when the CA did not sign the server certificate', async () => {
    const result = await verifyConnection(
      settings({ ssl: { mode: 'verify-ca', ca: otherCa.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'failed:TLS_CERT_UNTRUSTED', auth: 'skipped' });
  });

  it('fails verify-full with TLS_HOSTNAME_MISMATCH on an address the certificate does not list, where verify-ca passes', async () => {
    // mysql2 alone would check an IP host against "localhost" (which the certificate lists): the
    // adapter must make it check 127.0.0.2.
    const full = await verifyConnection(
      settings({ host: '127.0.0.2', ssl: { mode: 'verify-full', ca: server.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(full)).toMatchObject({ tls: 'failed:TLS_HOSTNAME_MISMATCH', auth: 'skipped' });

    const ca = await verifyConnection(
      settings({ host: '127.0.0.2', ssl: { mode: 'verify-ca', ca: server.ca } }),
      verifyOptions(),
    );
    expect(ca.outcome).toBe('passed');
  });

  it('encrypts without verifying under require and prefer', async () => {
    for (const mode of ['require', 'prefer'] as const) {
      const result = await verifyConnection(settings({ host: '127.0.0.2', ssl: { mode } }), verifyOptions());
      expect(result.outcome).toBe('passed');
      expect(stageSummary(result).tls).toBe('ok');
      expect(result.server?.tls).toBeDefined();
    }
  });

  it('logs in a REQUIRE X509 user with a client certificate, and fails at auth without one', async () => {
    const withCert = await verifyConnection(
      settings({
        userName: x509User,
        ssl: { mode: 'verify-full', ca: server.ca, cert: server.client.cert, key: server.client.key },
      }),
      verifyOptions(),
    );
    expect(withCert.outcome).toBe('passed');
    expect(visibleText(withCert)).not.toContain('PRIVATE KEY');

    const without = await verifyConnection(
      settings({ userName: x509User, ssl: { mode: 'verify-full', ca: server.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(without)).toMatchObject({ tls: 'ok', auth: 'failed:AUTH_FAILED' });
  });

  it('fails at auth with AUTH_FAILED for a wrong password over TLS', async () => {
    const result = await verifyConnection(
      settings({ password: 'nope', ssl: { mode: 'verify-full', ca: server.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'ok', auth: 'failed:AUTH_FAILED' });
  });
});
