import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import {
  type CertificateAuthority,
  endedSessions,
  makeCa,
  type PostgresFixture,
  randomSuffix,
  startPostgres,
  startTlsMariadb,
  type TlsMariadbFixture,
} from './fixtures/index.js';
import { dialSettings, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * A server that refuses a login because it demands TLS is reported as TLS_REQUIRED, never as a
 * wrong password — and a wrong password is never reported as TLS_REQUIRED. Real servers: a private
 * PostgreSQL whose pg_hba.conf has only `hostssl` lines, one without TLS, and a private mariadbd
 * with require_secure_transport=ON (then OFF, for an account `REQUIRE SSL`).
 */

const suffix = randomSuffix();
const user = `dbconn_t_${suffix}`;
const password = `Req-${suffix}!`;

describe('PostgreSQL', () => {
  let authority: CertificateAuthority;
  let sslOnly: PostgresFixture;
  let noTls: PostgresFixture;

  beforeAll(async () => {
    authority = await makeCa('dbconn test hostssl CA');
    const server = await authority.issue({ commonName: 'localhost', altNames: ['IP:127.0.0.1'] });
    [sslOnly, noTls] = await Promise.all([
      startPostgres({
        tls: { server, clientCa: authority.cert },
        hba: [`hostssl all ${user} 127.0.0.0/8 scram-sha-256`],
      }),
      // No TLS, and no line for the test user: its login is refused with the same 28000.
      startPostgres({ hba: ['host all postgres 127.0.0.0/8 trust'] }),
    ]);
    for (const server of [sslOnly, noTls])
      await server.admin(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
    // No pg_hba.conf line at all, with or without TLS.
    await sslOnly.admin(`CREATE ROLE ${user}_nohba LOGIN PASSWORD '${password}'`);
  });
  afterAll(async () => {
    await Promise.all([sslOnly?.stop(), noTls?.stop()]);
    await authority?.remove();
  });

  const settings = (port: number, overrides: Partial<DialSettings> = {}) =>
    dialSettings({
      type: 'POSTGRESQL',
      port,
      userName: user,
      password,
      databaseName: 'postgres',
      ...overrides,
    });

  it('reports TLS_REQUIRED with a hint naming ssl.mode when pg_hba.conf admits the login only over TLS', async () => {
    const result = await verifyConnection(
      settings(sslOnly.port, { ssl: { mode: 'disable' } }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({ tls: 'skipped', auth: 'failed:TLS_REQUIRED' });
    expect(result.error?.message).toContain('ssl.mode is disable');
    expect(result.error?.hint).toMatch(/ssl\.mode to verify-full/);
    expect(result.error?.message).not.toMatch(/password for user/);
  });

  it('passes the same login once ssl.mode asks for TLS', async () => {
    const result = await verifyConnection(
      settings(sslOnly.port, { ssl: { mode: 'require' } }),
      verifyOptions(),
    );
    expect(result.error).toBeUndefined();
    expect(result.outcome).toBe('passed');
  });

  it('ends a TLS session with Terminate before closing the socket: none abandoned', async () => {
    const query = (sql: string, values: unknown[]) => sslOnly.admin(sql, values);
    const before = await endedSessions(query, 'template1');
    for (let i = 0; i < 3; i++) {
      const result = await verifyConnection(
        settings(sslOnly.port, { ssl: { mode: 'require' }, databaseName: 'template1' }),
        verifyOptions(),
      );
      expect(result.outcome).toBe('passed');
    }
    await expect
      .poll(async () => (await endedSessions(query, 'template1')).ended, { timeout: 10_000 })
      .toBe(before.ended + 3);
    expect((await endedSessions(query, 'template1')).abandoned).toBe(before.abandoned);
  });

  it('keeps AUTH_FAILED when pg_hba.conf refuses the login over TLS too', async () => {
    const result = await verifyConnection(
      settings(sslOnly.port, { userName: `${user}_nohba`, ssl: { mode: 'disable' } }),
      verifyOptions(),
    );
    expect(result.error).toMatchObject({ stage: 'auth', code: 'AUTH_FAILED' });
  });

  it('keeps AUTH_FAILED for a 28000 from a server that has no TLS to offer', async () => {
    const result = await verifyConnection(
      settings(noTls.port, { ssl: { mode: 'disable' } }),
      verifyOptions(),
    );
    expect(result.error).toMatchObject({ stage: 'auth', code: 'AUTH_FAILED' });
  });
});

describe('MariaDB', () => {
  let server: TlsMariadbFixture;
  const sslUser = `${user}_ssl`;

  beforeAll(async () => {
    server = await startTlsMariadb({ serverArgs: ['--require-secure-transport=ON'] });
    await server.admin('CREATE DATABASE app');
    for (const host of ['127.0.0.1', 'localhost']) {
      await server.admin('CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
      await server.admin('CREATE USER ?@? IDENTIFIED BY ? REQUIRE SSL', [sslUser, host, password]);
      for (const name of [user, sslUser]) await server.admin('GRANT SELECT ON app.* TO ?@?', [name, host]);
    }
  });
  afterAll(async () => {
    await server?.stop();
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

  describe('with require_secure_transport=ON', () => {
    it('reports TLS_REQUIRED for the right password without TLS', async () => {
      const result = await verifyConnection(settings({ ssl: { mode: 'disable' } }), verifyOptions());
      expect(stageSummary(result)).toMatchObject({ tls: 'skipped', auth: 'failed:TLS_REQUIRED' });
      expect(result.error?.message).toContain('ssl.mode is disable');
      expect(result.error?.hint).toMatch(/ssl\.mode to verify-full/);
    });

    it('keeps AUTH_FAILED for a wrong password without TLS', async () => {
      const result = await verifyConnection(
        settings({ password: 'not-the-password', ssl: { mode: 'disable' } }),
        verifyOptions(),
      );
      expect(result.error).toMatchObject({ stage: 'auth', code: 'AUTH_FAILED' });
    });

    it('passes with ssl.mode require', async () => {
      const result = await verifyConnection(settings({ ssl: { mode: 'require' } }), verifyOptions());
      expect(result.error).toBeUndefined();
      expect(result.outcome).toBe('passed');
    });
  });

  describe('with require_secure_transport=OFF and an account REQUIRE SSL', () => {
    beforeAll(async () => {
      await server.admin('SET GLOBAL require_secure_transport = OFF');
    });

    it('reports TLS_REQUIRED for that account without TLS', async () => {
      const result = await verifyConnection(
        settings({ userName: sslUser, ssl: { mode: 'disable' } }),
        verifyOptions(),
      );
      expect(result.error).toMatchObject({ stage: 'auth', code: 'TLS_REQUIRED' });
    });

    it('lets an account without REQUIRE SSL in without TLS', async () => {
      const result = await verifyConnection(settings({ ssl: { mode: 'disable' } }), verifyOptions());
      expect(result.outcome).toBe('passed');
    });
  });
});
