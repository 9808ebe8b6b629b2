import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import {
  type CertificateAuthority,
  makeCa,
  randomSuffix,
  startTlsPostgres,
  type TlsPostgresFixture,
} from './fixtures/index.js';
import { dialSettings, stageSummary, verifyOptions, visibleText } from './helpers/verify.js';

/** TLS modes against a private PostgreSQL with its own CA (see fixtures/postgres.ts). */

let server: TlsPostgresFixture;
let otherCa: CertificateAuthority;
const user = `dbconn_t_${randomSuffix()}`;
const password = `Tls-${randomSuffix()}!`;

beforeAll(async () => {
  [server, otherCa] = await Promise.all([startTlsPostgres(), makeCa('unrelated CA')]);
  await server.admin(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
});

afterAll(async () => {
  await server?.stop();
  await otherCa?.remove();
});

const settings = (overrides: Partial<DialSettings> = {}) =>
  dialSettings({
    type: 'POSTGRESQL',
    port: server.port,
    userName: user,
    password,
    databaseName: 'postgres',
    ...overrides,
  });

describe('PostgreSQL over TLS', () => {
  it('passes verify-full with the right CA and records TLS version, cipher and certificate expiry', async () => {
    const result = await verifyConnection(
      settings({ host: 'localhost', ssl: { mode: 'verify-full', ca: server.ca } }),
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
    expect(stageSummary(result).tls).toBe('ok');
    expect(result.server?.tls?.version).toMatch(/^TLSv1\.[23]$/);
    expect(result.server?.tls?.cipher).toMatch(/\w/);
    const expiresAt = Date.parse(result.server?.tls?.certExpiresAt ?? '');
    expect(expiresAt).toBeGreaterThan(Date.now());
    expect(visibleText(result)).not.toContain('BEGIN CERTIFICATE');
  });

  it('passes verify-full on the IP address listed in the certificate', async () => {
    const result = await verifyConnection(
      settings({ host: '127.0.0.1', ssl: { mode: 'verify-full', ca: server.ca } }),
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
  });

  it('fails with TLS_CERT_UNTRUSTED when the CA is not the one that signed the server certificate', async () => {
    const result = await verifyConnection(
      settings({ ssl: { mode: 'verify-full', ca: otherCa.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'failed:TLS_CERT_UNTRUSTED', auth: 'skipped' });
  });

  it('fails verify-ca without a CA (system store) with TLS_CERT_UNTRUSTED', async () => {
    const result = await verifyConnection(settings({ ssl: { mode: 'verify-ca' } }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ tls: 'failed:TLS_CERT_UNTRUSTED' });
  });

  it('fails verify-full with TLS_HOSTNAME_MISMATCH for an address the certificate does not list, where verify-ca passes', async () => {
    const full = await verifyConnection(
      settings({ host: '127.0.0.2', ssl: { mode: 'verify-full', ca: server.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(full)).toMatchObject({ tls: 'failed:TLS_HOSTNAME_MISMATCH', auth: 'skipped' });
    expect(full.error?.message).toContain('127.0.0.2');

    const ca = await verifyConnection(
      settings({ host: '127.0.0.2', ssl: { mode: 'verify-ca', ca: server.ca } }),
      verifyOptions(),
    );
    expect(ca.outcome).toBe('passed');
  });

  it('encrypts without verifying under require, and verifies the chain under require when a CA is given', async () => {
    const plain = await verifyConnection(
      settings({ host: '127.0.0.2', ssl: { mode: 'require' } }),
      verifyOptions(),
    );
    expect(plain.outcome).toBe('passed');
    expect(plain.server?.tls).toBeDefined();

    const withCa = await verifyConnection(
      settings({ ssl: { mode: 'require', ca: otherCa.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(withCa)).toMatchObject({ tls: 'failed:TLS_CERT_UNTRUSTED' });
  });

  it('uses TLS under prefer when the server offers it', async () => {
    const result = await verifyConnection(settings({ ssl: { mode: 'prefer' } }), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(stageSummary(result).tls).toBe('ok');
    expect(result.server?.tls?.version).toMatch(/^TLSv1/);
  });

  it('logs in with a client certificate (pg_hba cert), and fails at auth without one', async () => {
    const mtls = {
      mode: 'verify-full' as const,
      ca: server.ca,
      cert: server.client.cert,
      key: server.client.key,
    };
    const withCert = await verifyConnection(
      settings({ host: 'localhost', userName: server.certUser, password: 'unused', ssl: mtls }),
      verifyOptions(),
    );
    expect(withCert.outcome).toBe('passed');
    expect(visibleText(withCert)).not.toContain('PRIVATE KEY');

    const without = await verifyConnection(
      settings({
        host: 'localhost',
        userName: server.certUser,
        password: 'unused',
        ssl: { mode: 'verify-full', ca: server.ca },
      }),
      verifyOptions(),
    );
    expect(stageSummary(without)).toMatchObject({ tls: 'ok', auth: 'failed:AUTH_FAILED' });
  });

  it('fails with TLS_CONFIG_INVALID when the client key does not match the certificate', async () => {
    const stranger = await otherCa.issue({ commonName: 'stranger' });
    const result = await verifyConnection(
      settings({ ssl: { mode: 'require', cert: server.client.cert, key: stranger.key } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'failed:TLS_CONFIG_INVALID' });
    expect(visibleText(result)).not.toContain('PRIVATE KEY');
  });
});
