import mysql2 from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import {
  closedPort,
  randomSuffix,
  type SocketFixture,
  startGreetingServer,
  startSilentServer,
} from './fixtures/index.js';
import { dialSettings, shortDeadlines, stageSummary, verifyOptions, visibleText } from './helpers/verify.js';

/**
 * MySQL protocol against the machine's shared MariaDB (root, empty password on 127.0.0.1): users
 * and databases made for this file only, dropped after.
 */

const suffix = randomSuffix();
const database = `dbconn_t_${suffix}`;
const otherDatabase = `dbconn_t_${suffix}_other`;
const user = `dbconn_t_${suffix}`;
const password = `My-${suffix}!`;
/** Same password, account locked (MariaDB: ER_ACCOUNT_HAS_BEEN_LOCKED 4151; MySQL: 3118). */
const lockedUser = `dbconn_tl_${suffix}`;
// The server sees 127.0.0.1 connections as coming from 127.0.0.1 (skip_name_resolve), other setups as localhost.
const hosts = ['%', 'localhost', '127.0.0.1'];

let root: mysql2.Connection;

beforeAll(async () => {
  root = await mysql2.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
  await root.query(`CREATE DATABASE \`${database}\``);
  await root.query(`CREATE DATABASE \`${otherDatabase}\``);
  for (const host of hosts) {
    await root.query('CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
    await root.query(`GRANT SELECT ON \`${database}\`.* TO ?@?`, [user, host]);
    await root.query('CREATE USER ?@? IDENTIFIED BY ? ACCOUNT LOCK', [lockedUser, host, password]);
  }
});

afterAll(async () => {
  for (const host of hosts) {
    await root.query('DROP USER IF EXISTS ?@?', [user, host]);
    await root.query('DROP USER IF EXISTS ?@?', [lockedUser, host]);
  }
  await root.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await root.query(`DROP DATABASE IF EXISTS \`${otherDatabase}\``);
  await root.end();
});

const settings = (overrides: Partial<DialSettings> = {}) =>
  dialSettings({ type: 'MYSQL', port: 3306, userName: user, password, databaseName: database, ...overrides });

describe('MySQL/MariaDB verification', () => {
  it('passes with every stage ok and records the server version', async () => {
    const result = await verifyConnection(settings(), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(stageSummary(result)).toEqual({
      dns: 'ok',
      tcp: 'ok',
      tls: 'skipped',
      auth: 'ok',
      database: 'ok',
      schema: 'ok',
    });
    expect(result.server?.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('fails at auth with AUTH_FAILED for a wrong password, without echoing it', async () => {
    const wrong = `Wrong-${suffix}`;
    const result = await verifyConnection(settings({ password: wrong }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:AUTH_FAILED', database: 'skipped' });
    expect(result.error?.message).toContain(user);
    expect(visibleText(result)).not.toContain(wrong);
  });

  it('fails at database with DATABASE_NOT_FOUND for an unknown database (user with global rights)', async () => {
    const result = await verifyConnection(
      dialSettings({
        type: 'MYSQL',
        port: 3306,
        userName: 'root',
        password: '',
        databaseName: `${database}_missing`,
      }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({
      auth: 'ok',
      database: 'failed:DATABASE_NOT_FOUND',
      schema: 'skipped',
    });
  });

  it('fails at auth with AUTH_FAILED saying the account is locked, not that the password is wrong', async () => {
    const result = await verifyConnection(settings({ userName: lockedUser }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:AUTH_FAILED', database: 'skipped' });
    expect(result.error?.message).toContain(`${lockedUser} is locked`);
    expect(result.error?.hint).toContain('unlock');
  });

  it('fails at database with PERMISSION_DENIED for a database the user has no rights on', async () => {
    const result = await verifyConnection(settings({ databaseName: otherDatabase }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ auth: 'ok', database: 'failed:PERMISSION_DENIED' });
    expect(result.error?.message).toContain(otherDatabase);
  });

  it('checks a schema other than the database at the schema stage', async () => {
    const denied = await verifyConnection(settings({ schema: otherDatabase }), verifyOptions());
    expect(stageSummary(denied)).toMatchObject({ database: 'ok', schema: 'failed:PERMISSION_DENIED' });

    const missing = await verifyConnection(
      dialSettings({
        type: 'MYSQL',
        port: 3306,
        userName: 'root',
        password: '',
        databaseName: database,
        schema: `${database}_nope`,
      }),
      verifyOptions(),
    );
    expect(stageSummary(missing)).toMatchObject({ database: 'ok', schema: 'failed:SCHEMA_NOT_FOUND' });
  });

  it('fails with TLS_NOT_OFFERED under require on a server without TLS, and falls back under prefer', async () => {
    const required = await verifyConnection(settings({ ssl: { mode: 'require' } }), verifyOptions());
    expect(stageSummary(required)).toMatchObject({ tls: 'failed:TLS_NOT_OFFERED', auth: 'skipped' });

    const preferred = await verifyConnection(settings({ ssl: { mode: 'prefer' } }), verifyOptions());
    expect(preferred.outcome).toBe('passed');
    expect(stageSummary(preferred)).toMatchObject({ tls: 'skipped:TLS_NOT_OFFERED', auth: 'ok' });
    expect(preferred.server?.tls).toBeUndefined();
  });
});

describe('MySQL network failures', () => {
  let silent: SocketFixture;
  beforeAll(async () => {
    silent = await startSilentServer();
  });
  afterAll(async () => {
    await silent?.stop();
  });

  it('fails at tcp with TCP_REFUSED on a closed port', async () => {
    const result = await verifyConnection(settings({ port: await closedPort() }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ tcp: 'failed:TCP_REFUSED' });
  });

  it('ends a silent server with AUTH_TIMEOUT (no TLS) or TLS_TIMEOUT (waiting for the greeting)', async () => {
    const plain = await verifyConnection(settings({ port: silent.port }), verifyOptions(shortDeadlines));
    expect(stageSummary(plain)).toMatchObject({ auth: 'failed:AUTH_TIMEOUT' });
    const tls = await verifyConnection(
      settings({ port: silent.port, ssl: { mode: 'require' } }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(tls)).toMatchObject({ tls: 'failed:TLS_TIMEOUT' });
  });

  it('reports PROTOCOL_ERROR when the server does not greet like MySQL', async () => {
    // A well-formed 3-byte packet that is not a HandshakeV10 (protocol version 0x42).
    const other = await startGreetingServer(Buffer.from([3, 0, 0, 0, 0x42, 0x43, 0x44]));
    try {
      const result = await verifyConnection(
        settings({ port: other.port, ssl: { mode: 'require' } }),
        verifyOptions(),
      );
      expect(stageSummary(result)).toMatchObject({ tls: 'failed:PROTOCOL_ERROR' });
    } finally {
      await other.stop();
    }
  });
});
