import { afterEach, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { discoverSchema } from '../src/verify/discover-schema.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import {
  ENCRYPT,
  type FakeTdsOptions,
  type FakeTdsServer,
  startFakeTds,
  type TdsReply,
} from './fixtures/tds.js';
import {
  dialSettings,
  discoverOptions,
  shortDeadlines,
  stageSummary,
  verifyOptions,
} from './helpers/verify.js';

/**
 * SQL Server past the login, against a scripted TDS peer (test/fixtures/tds.ts) speaking real TDS
 * on a real socket to the real driver, through mssql: the adapter logs in, checks the database and
 * the schema and discovers tables on connections pinned to the checked address (mssql logs in
 * twice: its test connection on the tcp stage's socket, then its pool's own on a second socket to
 * the same address; any other destination is refused) — and classifies the server's login and
 * request errors.
 */

const VERSION = 'Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64) (fake)';

/** A cooperative server: one login, the version, the schema `dbo` readable, two tables. */
function answers(overrides: Partial<Record<'version' | 'schema' | 'tables' | 'columns', TdsReply>> = {}) {
  return (sql: string, params: string[]): TdsReply => {
    if (sql.includes('@@VERSION')) {
      return overrides.version ?? { columns: [{ name: 'version', type: 'nvarchar' }], rows: [[VERSION]] };
    }
    if (sql.includes('sys.schemas')) {
      return (
        overrides.schema ??
        (params[0] === 'dbo'
          ? { columns: [{ name: 'canSelect', type: 'int' }], rows: [[1]] }
          : { columns: [{ name: 'canSelect', type: 'int' }], rows: [] })
      );
    }
    if (sql.includes('INFORMATION_SCHEMA.TABLES')) {
      return (
        overrides.tables ?? {
          columns: [{ name: 'name', type: 'nvarchar' }],
          rows: [['orders'], ['Customers']],
        }
      );
    }
    if (sql.includes('INFORMATION_SCHEMA.COLUMNS')) {
      return (
        overrides.columns ?? {
          columns: [
            { name: 'table', type: 'nvarchar' },
            { name: 'field', type: 'nvarchar' },
          ],
          rows: [
            ['orders', 'total'],
            ['orders', 'id'],
            ['Customers', 'name'],
          ],
        }
      );
    }
    return { errors: [2812] }; // Could not find stored procedure
  };
}

let servers: FakeTdsServer[] = [];
async function fake(options: Partial<FakeTdsOptions> = {}) {
  const server = await startFakeTds({ encryption: ENCRYPT.NOT_SUP, answer: answers(), ...options });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
});

const settings = (port: number, overrides: Partial<DialSettings> = {}) =>
  dialSettings({ type: 'SQL_SERVER', port, userName: 'sa', password: 'S3cret!', ...overrides });

describe('SQL Server over pinned sockets', () => {
  it('passes every stage with valid credentials, every connection to the checked address', async () => {
    const server = await fake();
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(stageSummary(result)).toEqual({
      dns: 'ok',
      tcp: 'ok',
      tls: 'skipped',
      auth: 'ok',
      database: 'ok',
      schema: 'ok',
    });
    expect(result.outcome).toBe('passed');
    expect(result.server?.version).toBe(VERSION);
    // mssql logs in twice: its test connection in connect(), then the pool's own, both pinned.
    expect(server.connections()).toBe(2);
    expect(server.statements()).toEqual([
      expect.stringContaining('@@VERSION'),
      expect.stringContaining('sys.schemas'),
    ]);
    // The verification closed its connection.
    await expect.poll(() => server.allClosed()).toBe(true);
  });

  it('discovers tables and fields on the verified connection, with no further login', async () => {
    const server = await fake();
    const result = await discoverSchema(settings(server.port), discoverOptions());
    expect(result).toEqual({
      outcome: 'passed',
      schema: 'dbo',
      tables: [
        { name: 'Customers', fields: ['name'] },
        { name: 'orders', fields: ['id', 'total'] },
      ],
    });
    // mssql logs in twice: its test connection in connect(), then the pool's own, both pinned.
    expect(server.connections()).toBe(2);
    expect(server.statements()).toHaveLength(4);
    await expect.poll(() => server.allClosed()).toBe(true);
  });

  it('reports SCHEMA_NOT_FOUND for a schema sys.schemas does not list', async () => {
    const server = await fake();
    const result = await verifyConnection(settings(server.port, { schema: 'nope' }), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ database: 'ok', schema: 'failed:SCHEMA_NOT_FOUND' });
  });

  it('reports PERMISSION_DENIED when the schema is listed but not readable', async () => {
    const server = await fake({
      answer: answers({ schema: { columns: [{ name: 'canSelect', type: 'int' }], rows: [[0]] } }),
    });
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ database: 'ok', schema: 'failed:PERMISSION_DENIED' });
  });
});

describe('SQL Server errors through tedious', () => {
  it('login error 18456 → AUTH_FAILED at auth', async () => {
    const server = await fake({ loginErrors: [18456] });
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:AUTH_FAILED', database: 'skipped' });
    expect(server.connections()).toBe(1);
  });

  it('login errors 4060 + 18456 → auth ok, DATABASE_NOT_FOUND at database', async () => {
    const server = await fake({ loginErrors: [4060, 18456] });
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ auth: 'ok', database: 'failed:DATABASE_NOT_FOUND' });
  });

  it('a request error (RequestError.number) is classified: 229 → PERMISSION_DENIED at schema', async () => {
    const server = await fake({ answer: answers({ schema: { errors: [229] } }) });
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ database: 'ok', schema: 'failed:PERMISSION_DENIED' });
  });

  it('several errors on one request (tedious: AggregateError) are classified too', async () => {
    const server = await fake({ answer: answers({ version: { errors: [50000, 916] } }) });
    const result = await verifyConnection(settings(server.port), verifyOptions());
    expect(stageSummary(result)).toMatchObject({ auth: 'ok', database: 'failed:PERMISSION_DENIED' });
  });

  it('a catalog query refused during discovery → PERMISSION_DENIED; an unknown error → DISCOVERY_FAILED', async () => {
    const refused = await fake({ answer: answers({ tables: { errors: [229] } }) });
    expect(await discoverSchema(settings(refused.port), discoverOptions())).toMatchObject({
      outcome: 'failed',
      error: { code: 'PERMISSION_DENIED' },
    });
    const broken = await fake({ answer: answers({ columns: { errors: [50000] } }) });
    expect(await discoverSchema(settings(broken.port), discoverOptions())).toMatchObject({
      outcome: 'failed',
      error: { code: 'DISCOVERY_FAILED' },
    });
  });

  it('does not follow a routing redirect: REDIRECT_REFUSED, and nothing reaches the other address', async () => {
    const elsewhere = await fake();
    const server = await fake({ routeTo: { server: '127.0.0.1', port: elsewhere.port } });
    const result = await verifyConnection(settings(server.port), verifyOptions(shortDeadlines));
    expect(stageSummary(result)).toMatchObject({ auth: 'failed:REDIRECT_REFUSED', database: 'skipped' });
    expect(result.error).toMatchObject({ code: 'REDIRECT_REFUSED' });
    expect(server.connections()).toBe(1);
    expect(elsewhere.connections()).toBe(0);
  });
});
