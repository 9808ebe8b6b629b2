import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { type CertificateAuthority, makeCa, type PostgresFixture, startPostgres } from './fixtures/index.js';
import { dialSettings, verifyOptions } from './helpers/verify.js';

/**
 * Warnings of a passing verification (docs/contract.md §12), against real servers: the shared
 * PostgreSQL for the account checks, and a dedicated one (TLS with a certificate made here to
 * expire in 10 days, `md5` in pg_hba.conf, a role whose password is stored as MD5).
 */
const codes = (warnings: { code: string }[] | undefined) => (warnings ?? []).map((w) => w.code).sort();
const suffix = randomBytes(4).toString('hex');

describe('account warnings on the shared PostgreSQL', () => {
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  const reader = `warn_reader_${suffix}`;
  const reports = `warn_reports_${suffix}`;
  const empty = `warn_empty_${suffix}`;

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE ROLE ${reader} LOGIN`);
    await admin.query(`CREATE SCHEMA ${reports}`);
    await admin.query(`CREATE TABLE ${reports}.orders (id int PRIMARY KEY, total numeric)`);
    await admin.query(`INSERT INTO ${reports}.orders VALUES (1, 10), (2, 20)`);
    await admin.query(`GRANT USAGE ON SCHEMA ${reports} TO ${reader}`);
    await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${reports} TO ${reader}`);
    await admin.query(`CREATE SCHEMA ${empty}`);
    await admin.query(`GRANT USAGE ON SCHEMA ${empty} TO ${reader}`);
  });
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${reports} CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS ${empty} CASCADE`);
    await admin.query(`DROP ROLE IF EXISTS ${reader}`);
    await admin.end();
  });

  const local = (userName: string, schema: string) =>
    dialSettings({ type: 'POSTGRESQL', port: 5432, userName, schema, ssl: { mode: 'disable' } });

  it('warns ACCOUNT_OVERPRIVILEGED for a superuser login, and still passes', async () => {
    const result = await verifyConnection(local('postgres', reports), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(codes(result.warnings)).toContain('ACCOUNT_OVERPRIVILEGED');
    const warning = result.warnings?.find((w) => w.code === 'ACCOUNT_OVERPRIVILEGED');
    expect(warning?.message).toMatch(/superuser/);
    expect(warning?.hint).toMatch(/read/);
  });

  it('warns of nothing for a read-only role on a populated schema', async () => {
    const result = await verifyConnection(local(reader, reports), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(result.warnings).toBeUndefined();
  });

  it('warns ACCOUNT_OVERPRIVILEGED for a role that may write to a table of the schema', async () => {
    await admin.query(`GRANT INSERT ON ${reports}.orders TO ${reader}`);
    try {
      const result = await verifyConnection(local(reader, reports), verifyOptions());
      expect(codes(result.warnings)).toEqual(['ACCOUNT_OVERPRIVILEGED']);
    } finally {
      await admin.query(`REVOKE INSERT ON ${reports}.orders FROM ${reader}`);
    }
  });

  it('warns SCHEMA_EMPTY for a schema without tables', async () => {
    const result = await verifyConnection(local(reader, empty), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(codes(result.warnings)).toEqual(['SCHEMA_EMPTY']);
  });
});

describe('TLS and password warnings on a dedicated PostgreSQL', () => {
  let authority: CertificateAuthority;
  let server: PostgresFixture;
  const expiresAt = new Date(Date.now() + 10 * 24 * 60 * 60 * 1000);
  const role = 'md5_reader';
  const password = `md5-${suffix}`;

  beforeAll(async () => {
    authority = await makeCa('dbconn warnings CA');
    const certificate = await authority.issue({
      commonName: 'localhost',
      altNames: ['DNS:localhost', 'IP:127.0.0.1'],
      notAfter: expiresAt,
    });
    server = await startPostgres({
      tls: { server: certificate, clientCa: authority.cert },
      hba: ['hostssl all all 127.0.0.0/8 md5'],
    });
    // Stored as MD5, so the md5 line asks for MD5 (a SCRAM-stored password would be asked for SCRAM).
    await server.admin(`SET password_encryption = 'md5'; CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await server.admin(`CREATE TABLE public.facts (id int); GRANT SELECT ON public.facts TO ${role}`);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await authority?.remove();
  });

  const settings = (mode: 'require' | 'verify-full') =>
    dialSettings({
      type: 'POSTGRESQL',
      host: 'localhost',
      port: server.port,
      databaseName: 'postgres',
      userName: role,
      password,
      ssl: mode === 'verify-full' ? { mode, ca: authority.cert } : { mode },
    });

  it('warns CERT_EXPIRES_SOON with the date, and PASSWORD_AUTH_WEAK for an MD5 login', async () => {
    const result = await verifyConnection(settings('verify-full'), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(codes(result.warnings)).toEqual(['CERT_EXPIRES_SOON', 'PASSWORD_AUTH_WEAK']);
    const cert = result.warnings?.find((w) => w.code === 'CERT_EXPIRES_SOON');
    expect(cert?.message).toContain(result.server?.tls?.certExpiresAt?.slice(0, 10));
    expect(Math.abs(Date.parse(result.server?.tls?.certExpiresAt ?? '') - expiresAt.getTime())).toBeLessThan(
      24 * 60 * 60 * 1000,
    );
    expect(JSON.stringify(result)).not.toContain(password);
  });

  it('warns TLS_IDENTITY_UNCHECKED when the mode encrypts without checking the name', async () => {
    const result = await verifyConnection(settings('require'), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(codes(result.warnings)).toEqual([
      'CERT_EXPIRES_SOON',
      'PASSWORD_AUTH_WEAK',
      'TLS_IDENTITY_UNCHECKED',
    ]);
  });
});

describe('account warnings on the shared MariaDB', () => {
  it('warns ACCOUNT_OVERPRIVILEGED for root', async () => {
    const result = await verifyConnection(
      dialSettings({ type: 'MYSQL', port: 3306, userName: 'root', password: '', databaseName: 'test' }),
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
    expect(codes(result.warnings)).toContain('ACCOUNT_OVERPRIVILEGED');
  });
});
