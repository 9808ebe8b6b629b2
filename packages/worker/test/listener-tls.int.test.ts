import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import {
  type CertificateAuthority,
  makeCa,
  type Pem,
  type SocketFixture,
  startHangUpServer,
  startTlsListener,
} from './fixtures/index.js';
import { dialSettings, shortDeadlines, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * The tls stage of the engines whose port decides TLS (Oracle TCPS, MongoDB), against real TLS
 * listeners made with node:tls. Each listener completes the handshake and then says nothing, so
 * the tls stage is decided on the certificate alone and the auth stage times out.
 */

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let good: SocketFixture; // DNS:localhost, IP:127.0.0.1
let nameOnly: SocketFixture; // DNS:localhost only
let expired: SocketFixture;
let hangUp: SocketFixture;
let client: Pem;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([makeCa('listener CA'), makeCa('unrelated CA')]);
  const full = await ca.issue({ commonName: 'localhost', altNames: ['DNS:localhost', 'IP:127.0.0.1'] });
  client = await ca.issue({ commonName: 'dbconn client' });
  const named = await ca.issue({ commonName: 'localhost', altNames: ['DNS:localhost'] });
  const old = await ca.issue({
    commonName: 'localhost',
    altNames: ['DNS:localhost', 'IP:127.0.0.1'],
    notBefore: new Date(Date.now() - 20 * 24 * 3600_000),
    notAfter: new Date(Date.now() - 10 * 24 * 3600_000),
  });
  [good, nameOnly, expired, hangUp] = await Promise.all([
    startTlsListener({ cert: full.cert, key: full.key }),
    startTlsListener({ cert: named.cert, key: named.key }),
    startTlsListener({ cert: old.cert, key: old.key }),
    startHangUpServer(),
  ]);
});

afterAll(async () => {
  await Promise.all([good, nameOnly, expired, hangUp].map((f) => f?.stop()));
  await Promise.all([ca, otherCa].map((c) => c?.remove()));
});

describe.each(['ORACLE', 'MONGODB'] as const)('%s listener TLS', (type) => {
  const settings = (port: number, overrides: Partial<DialSettings> = {}) =>
    dialSettings({ type, port, userName: 'scott', password: 'tiger', databaseName: 'app', ...overrides });

  it('passes the tls stage under verify-full with the right CA and records what was negotiated', async () => {
    // With a client certificate: node-oracledb cannot load a CA alone (see the Oracle test below).
    const result = await verifyConnection(
      settings(good.port, {
        host: 'localhost',
        ssl: { mode: 'verify-full', ca: ca.ca, cert: client.cert, key: client.key },
      }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(result)).toMatchObject({ tcp: 'ok', tls: 'ok', auth: 'failed:AUTH_TIMEOUT' });
    expect(result.server?.tls?.version).toMatch(/^TLSv1\.[23]$/);
    expect(result.server?.tls?.cipher).toMatch(/\w/);
    expect(Date.parse(result.server?.tls?.certExpiresAt ?? '')).toBeGreaterThan(Date.now());
  });

  it('fails with TLS_CERT_UNTRUSTED for a certificate the CA did not sign', async () => {
    const result = await verifyConnection(
      settings(good.port, { ssl: { mode: 'verify-ca', ca: otherCa.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'failed:TLS_CERT_UNTRUSTED', auth: 'skipped' });
  });

  it('fails verify-full with TLS_HOSTNAME_MISMATCH for an address the certificate does not list, where verify-ca passes', async () => {
    const full = await verifyConnection(
      settings(nameOnly.port, { ssl: { mode: 'verify-full', ca: ca.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(full)).toMatchObject({ tls: 'failed:TLS_HOSTNAME_MISMATCH', auth: 'skipped' });

    const chainOnly = await verifyConnection(
      settings(nameOnly.port, { ssl: { mode: 'verify-ca', ca: ca.ca } }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(chainOnly)).toMatchObject({ tls: 'ok' });
  });

  it('fails with TLS_CERT_EXPIRED for an expired certificate', async () => {
    const result = await verifyConnection(
      settings(expired.port, { ssl: { mode: 'verify-ca', ca: ca.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'failed:TLS_CERT_EXPIRED' });
  });

  it('fails with TLS_NOT_OFFERED under require on a port without TLS, and skips TLS under prefer', async () => {
    const required = await verifyConnection(
      settings(hangUp.port, { ssl: { mode: 'require' } }),
      verifyOptions(),
    );
    expect(stageSummary(required)).toMatchObject({ tls: 'failed:TLS_NOT_OFFERED', auth: 'skipped' });

    const preferred = await verifyConnection(
      settings(hangUp.port, { ssl: { mode: 'prefer' } }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(preferred)).toMatchObject({ tls: 'skipped:TLS_NOT_OFFERED' });
    expect(preferred.server?.tls).toBeUndefined();
  });
});

describe('MONGODB listener TLS without verification', () => {
  it('encrypts without verifying under require', async () => {
    const result = await verifyConnection(
      dialSettings({ type: 'MONGODB', port: nameOnly.port, ssl: { mode: 'require' } }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'ok', auth: 'failed:AUTH_TIMEOUT' });
  });
});

describe('ORACLE listener TLS', () => {
  it('explains that node-oracledb cannot use a CA without a client certificate', async () => {
    const result = await verifyConnection(
      dialSettings({
        type: 'ORACLE',
        port: good.port,
        host: 'localhost',
        ssl: { mode: 'verify-full', ca: ca.ca },
      }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'ok', auth: 'failed:TLS_CONFIG_INVALID' });
    expect(result.error?.message).toContain('ssl.ca without a client certificate');
  });

  it('refuses verify-full when the certificate subject cannot be pinned for the driver', async () => {
    // The name check passes on the SAN; a comma in the CN leaves no DN the driver could match on.
    const unpinnable = await ca.issue({ commonName: 'db, primary', altNames: ['DNS:localhost'] });
    const listener = await startTlsListener({ cert: unpinnable.cert, key: unpinnable.key });
    try {
      const result = await verifyConnection(
        dialSettings({
          type: 'ORACLE',
          port: listener.port,
          host: 'localhost',
          ssl: { mode: 'verify-full', ca: ca.ca, cert: client.cert, key: client.key },
        }),
        verifyOptions(),
      );
      expect(stageSummary(result)).toMatchObject({ tls: 'ok', auth: 'failed:TLS_CONFIG_INVALID' });
      expect(result.error?.message).toContain('cannot be pinned');
    } finally {
      await listener.stop();
    }
  });

  it('verifies the chain even under require (node-oracledb thin mode cannot switch it off)', async () => {
    const result = await verifyConnection(
      dialSettings({ type: 'ORACLE', port: good.port, ssl: { mode: 'require' } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'failed:TLS_CERT_UNTRUSTED' });
  });
});
