import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import {
  closedPort,
  endedSessions,
  type PostgresFixture,
  randomSuffix,
  type SocketFixture,
  startPostgres,
  startSilentServer,
} from './fixtures/index.js';
import { dialSettings, shortDeadlines, stageSummary, verifyOptions, visibleText } from './helpers/verify.js';

/**
 * PostgreSQL against real servers: the machine's shared instance (trust auth) for databases,
 * schemas and privileges, and a private instance with scram-sha-256 for passwords (trust accepts
 * any password, so only a private instance can refuse one).
 */

const suffix = randomSuffix();
const database = `dbconn_t_${suffix}`;
const closedDatabase = `dbconn_t_${suffix}_closed`;
/** Only the session-closing test connects to it: its statistics count that test's sessions alone. */
const endedDatabase = `dbconn_t_${suffix}_ended`;
const role = `dbconn_t_${suffix}_user`;
const lockedSchema = 'locked';

const shared = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres', max: 1 });

async function inDatabase(sql: string) {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let scram: PostgresFixture;
const scramUser = `dbconn_t_${suffix}_scram`;
const scramPassword = `S3cret-${suffix}!`;

beforeAll(async () => {
  await shared.query(`CREATE ROLE ${role} LOGIN`);
  await shared.query(`CREATE DATABASE ${database}`);
  await shared.query(`CREATE DATABASE ${closedDatabase}`);
  await shared.query(`CREATE DATABASE ${endedDatabase}`);
  await shared.query(`REVOKE CONNECT ON DATABASE ${closedDatabase} FROM PUBLIC`);
  await inDatabase(
    `CREATE SCHEMA ${lockedSchema}; REVOKE ALL ON SCHEMA ${lockedSchema} FROM PUBLIC; CREATE SCHEMA app; GRANT USAGE ON SCHEMA app TO ${role};`,
  );

  scram = await startPostgres({ hba: ['host all all 127.0.0.0/8 scram-sha-256'] });
  await scram.admin(`CREATE ROLE ${scramUser} LOGIN PASSWORD '${scramPassword}'`);
});

afterAll(async () => {
  await shared.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await shared.query(`DROP DATABASE IF EXISTS ${closedDatabase} WITH (FORCE)`);
  await shared.query(`DROP DATABASE IF EXISTS ${endedDatabase} WITH (FORCE)`);
  await shared.query(`DROP ROLE IF EXISTS ${role}`);
  await shared.end();
  await scram?.stop();
});

const onShared = (overrides: Partial<DialSettings> = {}) =>
  dialSettings({ type: 'POSTGRESQL', port: 5432, userName: role, databaseName: database, ...overrides });

describe('PostgreSQL verification', () => {
  it('passes with every stage ok (tls skipped under disable) and records the server version', async () => {
    const result = await verifyConnection(onShared(), verifyOptions());
    expect(result.outcome).toBe('passed');
    expect(stageSummary(result)).toEqual({
      dns: 'ok',
      tcp: 'ok',
      tls: 'skipped',
      auth: 'ok',
      database: 'ok',
      schema: 'ok',
    });
    expect(result.error).toBeUndefined();
    expect(result.server?.version).toMatch(/^PostgreSQL \d+/);
    expect(result.server?.tls).toBeUndefined();
  });

  it('passes with a password when it is right', async () => {
    const result = await verifyConnection(
      dialSettings({
        type: 'POSTGRESQL',
        port: scram.port,
        userName: scramUser,
        password: scramPassword,
        databaseName: 'postgres',
      }),
      verifyOptions(),
    );
    expect(result.outcome).toBe('passed');
  });

  it('ends each session with Terminate without waiting for the server to close: none abandoned', async () => {
    const query = (sql: string, values: unknown[]) => shared.query(sql, values);
    const before = await endedSessions(query, endedDatabase);
    for (let i = 0; i < 5; i++) {
      const result = await verifyConnection(onShared({ databaseName: endedDatabase }), verifyOptions());
      expect(result.outcome).toBe('passed');
    }
    // The backends report their end as they exit, which the dial no longer waits for.
    await expect
      .poll(async () => (await endedSessions(query, endedDatabase)).ended, { timeout: 10_000 })
      .toBe(before.ended + 5);
    expect((await endedSessions(query, endedDatabase)).abandoned).toBe(before.abandoned);
  });

  it('fails at auth with AUTH_FAILED for a wrong password, without echoing it', async () => {
    const wrong = `Wrong-${suffix}-pw`;
    const result = await verifyConnection(
      dialSettings({
        type: 'POSTGRESQL',
        port: scram.port,
        userName: scramUser,
        password: wrong,
        databaseName: 'postgres',
      }),
      verifyOptions(),
    );
    expect(stageSummary(result)).toMatchObject({
      tcp: 'ok',
      auth: 'failed:AUTH_FAILED',
      database: 'skipped',
      schema: 'skipped',
    });
    expect(result.error).toMatchObject({ stage: 'auth', code: 'AUTH_FAILED' });
    expect(result.error?.message).toContain(scramUser);
    expect(result.error?.hint).not.toBe('');
    expect(visibleText(result)).not.toContain(wrong);
  });

  it('fails at database with DATABASE_NOT_FOUND after a good login', async () => {
    const result = await verifyConnection(onShared({ databaseName: `${database}_missing` }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({
      auth: 'ok',
      database: 'failed:DATABASE_NOT_FOUND',
      schema: 'skipped',
    });
    expect(result.error?.message).toContain(`${database}_missing`);
  });

  it('fails at database with PERMISSION_DENIED when the role may not connect to it', async () => {
    const result = await verifyConnection(onShared({ databaseName: closedDatabase }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ auth: 'ok', database: 'failed:PERMISSION_DENIED' });
  });

  it('fails at schema with SCHEMA_NOT_FOUND for a schema that does not exist', async () => {
    const result = await verifyConnection(onShared({ schema: 'no_such_schema' }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ database: 'ok', schema: 'failed:SCHEMA_NOT_FOUND' });
    expect(result.error?.message).toContain('no_such_schema');
  });

  it('fails at schema with PERMISSION_DENIED when the role has no USAGE on it, and passes where it has', async () => {
    const denied = await verifyConnection(onShared({ schema: lockedSchema }), verifyOptions());
    expect(stageSummary(denied)).toMatchObject({ schema: 'failed:PERMISSION_DENIED' });
    expect(denied.error?.message).toContain(lockedSchema);

    const granted = await verifyConnection(onShared({ schema: 'app' }), verifyOptions());
    expect(granted.outcome).toBe('passed');
  });

  it('fails with TLS_NOT_OFFERED under require on a server without TLS, and falls back under prefer', async () => {
    const required = await verifyConnection(onShared({ ssl: { mode: 'require' } }), verifyOptions());
    expect(stageSummary(required)).toMatchObject({ tls: 'failed:TLS_NOT_OFFERED', auth: 'skipped' });

    const preferred = await verifyConnection(onShared({ ssl: { mode: 'prefer' } }), verifyOptions());
    expect(preferred.outcome).toBe('passed');
    expect(stageSummary(preferred)).toMatchObject({ tls: 'skipped:TLS_NOT_OFFERED', auth: 'ok' });
    expect(preferred.server?.tls).toBeUndefined();
  });
});

describe('PostgreSQL network failures', () => {
  let silent: SocketFixture;
  beforeAll(async () => {
    silent = await startSilentServer();
  });
  afterAll(async () => {
    await silent?.stop();
  });

  it('fails at tcp with TCP_REFUSED on a closed port', async () => {
    const result = await verifyConnection(onShared({ port: await closedPort() }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ dns: 'ok', tcp: 'failed:TCP_REFUSED', auth: 'skipped' });
  });

  it('ends a server that accepts and never answers with a timeout code', async () => {
    const plain = await verifyConnection(onShared({ port: silent.port }), verifyOptions(shortDeadlines));
    expect(stageSummary(plain)).toMatchObject({ tcp: 'ok', tls: 'skipped', auth: 'failed:AUTH_TIMEOUT' });

    const tls = await verifyConnection(
      onShared({ port: silent.port, ssl: { mode: 'require' } }),
      verifyOptions(shortDeadlines),
    );
    expect(stageSummary(tls)).toMatchObject({ tcp: 'ok', tls: 'failed:TLS_TIMEOUT', auth: 'skipped' });
  });

  it('fails at dns with DNS_NOT_FOUND for a .invalid name', async () => {
    const result = await verifyConnection(onShared({ host: 'no-such-host.invalid' }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ dns: 'failed:DNS_NOT_FOUND', tcp: 'skipped' });
  });

  it('refuses the cloud metadata address with HOST_FORBIDDEN and never dials it', async () => {
    const result = await verifyConnection(onShared({ host: '169.254.169.254' }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ dns: 'failed:HOST_FORBIDDEN', tcp: 'skipped' });
    expect(result.error?.message).not.toMatch(/metadata|link-local/i);
  });

  it('refuses 127.0.0.1 in strict mode, unless the allow list names it', async () => {
    const strict = await verifyConnection(
      onShared(),
      verifyOptions({ egress: { mode: 'strict', allow: [], deny: [] } }),
    );
    expect(stageSummary(strict)).toMatchObject({ dns: 'failed:HOST_FORBIDDEN', tcp: 'skipped' });

    const allowed = await verifyConnection(
      onShared(),
      verifyOptions({ egress: { mode: 'strict', allow: ['127.0.0.1/32'], deny: [] } }),
    );
    expect(allowed.outcome).toBe('passed');
  });

  it('ends with ABORTED when the worker aborts the verification', async () => {
    const controller = new AbortController();
    const pending = verifyConnection(
      onShared({ port: silent.port }),
      verifyOptions({ signal: controller.signal }),
    );
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('ABORTED');
  });

  it('cuts a stage to what is left of the whole deadline', async () => {
    const result = await verifyConnection(
      onShared({ port: silent.port }),
      verifyOptions({ timeoutMs: 300, stageTimeoutMs: 60_000 }),
    );
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:AUTH_TIMEOUT' });
  });
});
