import { randomBytes } from 'node:crypto';
import mysql2 from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_SESSION } from '../src/engines/postgres.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import {
  type CertificateAuthority,
  type MariadbFixture,
  makeCa,
  type PostgresFixture,
  startMariadb,
  startPostgres,
} from './fixtures/index.js';
import { dialSettings, verifyOptions } from './helpers/verify.js';

/**
 * Warnings of a passing verification (docs/contract.md §12), against real servers: the shared
 * PostgreSQL for the account checks, and a dedicated one (TLS with a certificate made here to
 * expire in 10 days, `md5` in pg_hba.conf, a role whose password is stored as MD5); the shared
 * MariaDB for its accounts (mysql_native_password, its default), and a dedicated one with the
 * ed25519 plugin loaded.
 */
const codes = (warnings: { code: string }[] | undefined) => (warnings ?? []).map((w) => w.code).sort();
const suffix = randomBytes(4).toString('hex');

describe('account warnings on the shared PostgreSQL', () => {
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  const reader = `warn_reader_${suffix}`;
  const reports = `warn_reports_${suffix}`;
  const empty = `warn_empty_${suffix}`;
  const viewsOnly = `warn_views_${suffix}`;
  // Mixed case: the owner check compares role names, so one that needs quoting must still match.
  const owner = `Warn_Owner_${suffix}`;
  const ownedDb = `warn_owned_${suffix}`;

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
    await admin.query(`CREATE SCHEMA ${viewsOnly}`);
    await admin.query(`CREATE VIEW ${viewsOnly}.totals AS SELECT 1 AS total`);
    await admin.query(`GRANT USAGE ON SCHEMA ${viewsOnly} TO ${reader}`);
    await admin.query(`GRANT SELECT ON ${viewsOnly}.totals TO ${reader}`);
    await admin.query(`CREATE ROLE "${owner}" LOGIN`);
    await admin.query(`CREATE DATABASE ${ownedDb} OWNER "${owner}"`);
  });
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${reports} CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS ${empty} CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS ${viewsOnly} CASCADE`);
    await admin.query(`DROP ROLE IF EXISTS ${reader}`);
    await admin.query(`DROP DATABASE IF EXISTS ${ownedDb}`);
    await admin.query(`DROP ROLE IF EXISTS "${owner}"`);
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

  it('warns ACCOUNT_OVERPRIVILEGED for a role that may create objects in the schema', async () => {
    await admin.query(`GRANT CREATE ON SCHEMA ${reports} TO ${reader}`);
    try {
      const result = await verifyConnection(local(reader, reports), verifyOptions());
      expect(result.outcome).toBe('passed');
      expect(codes(result.warnings)).toEqual(['ACCOUNT_OVERPRIVILEGED']);
      expect(result.warnings?.[0]?.message).toMatch(`may create objects in ${reports}`);
    } finally {
      await admin.query(`REVOKE CREATE ON SCHEMA ${reports} FROM ${reader}`);
    }
  });

  it('warns ACCOUNT_OVERPRIVILEGED for the owner of the database, a name that needs quoting included', async () => {
    const result = await verifyConnection(
      { ...local(owner, 'public'), databaseName: ownedDb },
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
    const warning = result.warnings?.find((w) => w.code === 'ACCOUNT_OVERPRIVILEGED');
    expect(warning?.message).toMatch(/owns the database/);
  });

  it('passes a server that refuses the inspection, and warns of nothing it could not look up', async () => {
    // The owner check calls pg_get_userbyid; without EXECUTE on it the one-statement check fails,
    // and the schema is checked alone.
    const ownedAdmin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${ownedDb}` });
    await ownedAdmin.connect();
    try {
      await ownedAdmin.query('REVOKE EXECUTE ON FUNCTION pg_catalog.pg_get_userbyid(oid) FROM PUBLIC');
      const result = await verifyConnection(
        { ...local(owner, 'public'), databaseName: ownedDb },
        verifyOptions(),
      );
      expect(result.outcome).toBe('passed');
      expect(result.stages.find((s) => s.name === 'schema')?.status).toBe('ok');
      expect(result.warnings).toBeUndefined();
    } finally {
      await ownedAdmin.query('GRANT EXECUTE ON FUNCTION pg_catalog.pg_get_userbyid(oid) TO PUBLIC');
      await ownedAdmin.end();
    }
  });

  it('answers with the statement for the login the server reports as with the one that asks the server', async () => {
    // CHECK_SESSION.superuser and .role leave out what the login makes needless; .unknown asks.
    const cases = [
      {
        user: 'postgres',
        database: 'test',
        schemas: [reports, empty, viewsOnly, 'nowhere'],
        text: CHECK_SESSION.superuser,
      },
      {
        user: reader,
        database: 'test',
        schemas: [reports, empty, viewsOnly, 'nowhere'],
        text: CHECK_SESSION.role,
      },
      { user: owner, database: ownedDb, schemas: ['public'], text: CHECK_SESSION.role },
    ];
    await admin.query(`GRANT INSERT ON ${reports}.orders TO ${reader}`);
    try {
      for (const { user, database, schemas, text } of cases) {
        const client = new pg.Client({
          connectionString: `postgres://${encodeURIComponent(user)}@127.0.0.1:5432/${database}`,
        });
        await client.connect();
        try {
          for (const schema of schemas) {
            const asked = (await client.query(CHECK_SESSION.unknown, [schema])).rows;
            expect(asked).toHaveLength(1);
            expect((await client.query(text, [schema])).rows).toEqual(asked);
          }
        } finally {
          await client.end();
        }
      }
    } finally {
      await admin.query(`REVOKE INSERT ON ${reports}.orders FROM ${reader}`);
    }
  });

  it('counts a view as a table: a schema with only views is not empty', async () => {
    const result = await verifyConnection(local(reader, viewsOnly), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(result.warnings).toBeUndefined();
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
  const database = `warn_reports_${suffix}`;
  const reader = `warn_reader_${suffix}`;
  const password = `Native-${suffix}!`;
  // The server sees 127.0.0.1 connections as coming from 127.0.0.1 (skip_name_resolve), other setups as localhost.
  const hosts = ['%', 'localhost', '127.0.0.1'];
  let root: mysql2.Connection;

  beforeAll(async () => {
    root = await mysql2.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
    await root.query(`CREATE DATABASE \`${database}\``);
    await root.query(`CREATE TABLE \`${database}\`.orders (id int PRIMARY KEY, total decimal(10, 2))`);
    await root.query(`INSERT INTO \`${database}\`.orders VALUES (1, 10), (2, 20)`);
    for (const host of hosts) {
      // No plugin named: MariaDB's default, mysql_native_password.
      await root.query('CREATE USER ?@? IDENTIFIED BY ?', [reader, host, password]);
      await root.query(`GRANT SELECT ON \`${database}\`.* TO ?@?`, [reader, host]);
    }
  });
  afterAll(async () => {
    for (const host of hosts) await root?.query('DROP USER IF EXISTS ?@?', [reader, host]);
    await root?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await root?.end();
  });

  it('warns ACCOUNT_OVERPRIVILEGED for root', async () => {
    const result = await verifyConnection(
      dialSettings({ type: 'MYSQL', port: 3306, userName: 'root', password: '', databaseName: 'test' }),
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
    expect(codes(result.warnings)).toContain('ACCOUNT_OVERPRIVILEGED');
  });

  it('warns PASSWORD_AUTH_WEAK, and only that, for a read-only mysql_native_password account', async () => {
    const result = await verifyConnection(
      dialSettings({ type: 'MYSQL', port: 3306, userName: reader, password, databaseName: database }),
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
    expect(codes(result.warnings)).toEqual(['PASSWORD_AUTH_WEAK']);
    const [warning] = result.warnings ?? [];
    expect(warning?.message).toContain('mysql_native_password');
    expect(warning?.hint).toMatch(/caching_sha2_password/);
    expect(JSON.stringify(result)).not.toContain(password);
  });
});

describe('password warnings on a dedicated MariaDB with the ed25519 plugin', () => {
  let server: MariadbFixture;
  const database = 'reports';
  const password = `Ed-${suffix}!`;

  beforeAll(async () => {
    server = await startMariadb({ serverArgs: ['--plugin-load-add=auth_ed25519'] });
    await server.admin(`CREATE DATABASE ${database}`);
    await server.admin(`CREATE TABLE ${database}.orders (id int PRIMARY KEY)`);
    await server.admin(`INSERT INTO ${database}.orders VALUES (1)`);
    await server.admin(
      "CREATE USER 'native_reader'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD(?)",
      [password],
    );
    await server.admin("CREATE USER 'ed_reader'@'%' IDENTIFIED VIA ed25519 USING PASSWORD(?)", [password]);
    for (const user of ['native_reader', 'ed_reader'])
      await server.admin(`GRANT SELECT ON ${database}.* TO ?@'%'`, [user]);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  const settings = (userName: string) =>
    dialSettings({ type: 'MYSQL', port: server.port, userName, password, databaseName: database });

  it('warns PASSWORD_AUTH_WEAK for the account named mysql_native_password', async () => {
    const result = await verifyConnection(settings('native_reader'), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(codes(result.warnings)).toEqual(['PASSWORD_AUTH_WEAK']);
  });

  it('never calls an ed25519 account weak: the server switches it to client_ed25519, which mysql2 cannot answer', async () => {
    const result = await verifyConnection(settings('ed_reader'), verifyOptions());
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ stage: 'auth', code: 'AUTH_UNSUPPORTED' });
    expect(result.warnings).toBeUndefined();
  });
});
