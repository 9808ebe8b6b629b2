import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { type CertificateAuthority, makeCa, type Pem } from './fixtures/index.js';
import { ENCRYPT, type FakeTdsServer, startFakeTds, TDS } from './fixtures/tds.js';
import { dialSettings, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * SQL Server's TLS, which runs inside PRELOGIN, against a scripted TDS peer that does the
 * handshake as SQL Server does (test/fixtures/tds.ts): tedious verifies chain and name under
 * verify-full; the adapter checks the chain alone (verify-ca, require with a CA) when tedious emits
 * 'secure', before the login packet is written — a refused certificate never sees a LOGIN7.
 */

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let full: Pem; // DNS:localhost, IP:127.0.0.1
let nameOnly: Pem; // DNS:localhost

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([makeCa('tds CA'), makeCa('unrelated CA')]);
  full = await ca.issue({ commonName: 'localhost', altNames: ['DNS:localhost', 'IP:127.0.0.1'] });
  nameOnly = await ca.issue({ commonName: 'localhost', altNames: ['DNS:localhost'] });
});
afterAll(async () => {
  await Promise.all([ca?.remove(), otherCa?.remove()]);
});

let servers: FakeTdsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
});

async function fake(pem: Pem, encryption: number = ENCRYPT.ON) {
  const server = await startFakeTds({
    encryption,
    tls: { cert: pem.cert, key: pem.key },
    answer: (sql) =>
      sql.includes('@@VERSION')
        ? { columns: [{ name: 'version', type: 'nvarchar' }], rows: [['fake over TLS']] }
        : { columns: [{ name: 'canSelect', type: 'int' }], rows: [[1]] },
  });
  servers.push(server);
  return server;
}

const settings = (port: number, overrides: Partial<DialSettings>) =>
  dialSettings({ type: 'SQL_SERVER', port, password: 'S3cret!', ...overrides });

/** Everything the client sent, once the peer has seen it hang up. */
async function everythingSent(server: FakeTdsServer) {
  await expect.poll(() => server.allClosed()).toBe(true);
  return server.received().flat();
}

describe('SQL Server TLS inside PRELOGIN', () => {
  it('passes verify-full with the right CA, over TLS, and reports version and cipher', async () => {
    const server = await fake(full);
    const result = await verifyConnection(
      settings(server.port, { ssl: { mode: 'verify-full', ca: ca.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'ok', auth: 'ok', database: 'ok', schema: 'ok' });
    expect(result.server?.tls?.version).toMatch(/^TLSv1/);
    expect(result.server?.version).toBe('fake over TLS');
    // mssql logs in twice: its test connection in connect(), then the pool's own, both pinned.
    expect(server.connections()).toBe(2);
  });

  it('passes verify-full on the name the user gave (sent as serverName), not the dialled address', async () => {
    const server = await fake(nameOnly, ENCRYPT.REQ);
    const result = await verifyConnection(
      settings(server.port, { host: 'localhost', ssl: { mode: 'verify-full', ca: ca.ca } }),
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
  });

  it.each(['verify-full', 'verify-ca', 'require'] as const)(
    'fails %s with an unrelated CA with TLS_CERT_UNTRUSTED, and no LOGIN7 leaves',
    async (mode) => {
      const server = await fake(full);
      const result = await verifyConnection(
        settings(server.port, { ssl: { mode, ca: otherCa.ca } }),
        verifyOptions(),
      );
      expect(stageSummary(result)).toMatchObject({ tls: 'failed:TLS_CERT_UNTRUSTED', auth: 'skipped' });
      expect(await everythingSent(server)).not.toContain(TDS.LOGIN7);
    },
  );

  it('fails verify-full with TLS_HOSTNAME_MISMATCH for an address the certificate does not list, where verify-ca passes', async () => {
    const server = await fake(nameOnly);
    const mismatch = await verifyConnection(
      settings(server.port, { ssl: { mode: 'verify-full', ca: ca.ca } }),
      verifyOptions(),
    );
    expect(stageSummary(mismatch)).toMatchObject({ tls: 'failed:TLS_HOSTNAME_MISMATCH', auth: 'skipped' });
    expect(await everythingSent(server)).not.toContain(TDS.LOGIN7);

    const chainOnly = await verifyConnection(
      settings(server.port, { ssl: { mode: 'verify-ca', ca: ca.ca } }),
      verifyOptions(),
    );
    expect(chainOnly.outcome).toBe('passed');
  });

  it('encrypts without verifying under require, and uses TLS under prefer when offered', async () => {
    const server = await fake(full);
    const required = await verifyConnection(
      settings(server.port, { ssl: { mode: 'require' } }),
      verifyOptions(),
    );
    expect(required.outcome).toBe('passed');
    expect(stageSummary(required).tls).toBe('ok');
    expect(required.server?.tls).toBeDefined();

    const preferred = await verifyConnection(
      settings(server.port, { ssl: { mode: 'prefer' } }),
      verifyOptions(),
    );
    expect(preferred.outcome).toBe('passed');
    expect(stageSummary(preferred).tls).toBe('ok');
  });
});
