import { type ConnectionType, SslModeSchema } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../src/engines/discovery.js';
import type { DialSettings } from '../src/engines/types.js';
import { discoverSchema } from '../src/verify/discover-schema.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { discoverOptions, stageSummary, verifyOptions } from './helpers/verify.js';

/**
 * MongoDB, SQL Server and Oracle cannot run on this machine (no packages, no Docker engine). Their
 * auth, database and schema stages run here only when a real server is given, e.g. on a machine
 * with Docker:
 *
 *   MONGODB_URL=mongodb://user:pass@127.0.0.1:27017/app?authSource=admin
 *   MSSQL_URL=mssql://sa:Passw0rd!@127.0.0.1:1433/master?ssl=require
 *   ORACLE_URL=oracle://system:oracle@127.0.0.1:1521/FREEPDB1
 *
 * The user must be able to read the database (and, for SQL Server and Oracle, its default schema).
 * Schema discovery is checked for its shape (sorted, distinct, no system collections), since the
 * content of a server elsewhere is not known here. Without a URL the suite is skipped and says so.
 */

const SOURCES: { type: ConnectionType; variable: string; hasSchemas: boolean }[] = [
  { type: 'MONGODB', variable: 'MONGODB_URL', hasSchemas: false },
  { type: 'SQL_SERVER', variable: 'MSSQL_URL', hasSchemas: true },
  { type: 'ORACLE', variable: 'ORACLE_URL', hasSchemas: true },
];

function settingsFrom(type: ConnectionType, raw: string): DialSettings {
  const url = new URL(raw);
  const ssl = url.searchParams.get('ssl');
  const database = decodeURIComponent(url.pathname.slice(1));
  const authSource = url.searchParams.get('authSource');
  return {
    type,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port),
    databaseName: database,
    userName: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    ...(ssl ? { ssl: { mode: SslModeSchema.parse(ssl) } } : {}),
    metadata: authSource ? { authSource } : {},
  };
}

for (const { type, variable, hasSchemas } of SOURCES) {
  // Tests may read the environment; the service itself reads it only through shared/config.ts.
  const raw = process.env[variable];
  if (!raw) console.info(`[external] ${type}: ${variable} is not set, its real-server tests are skipped`);

  describe.skipIf(!raw)(`${type} against the server in ${variable}`, () => {
    const settings = () => settingsFrom(type, raw ?? '');
    // Real servers elsewhere are slower than loopback.
    const options = verifyOptions({ timeoutMs: 30_000, stageTimeoutMs: 15_000 });

    it('passes with every stage ok and records the server version', async () => {
      const result = await verifyConnection(settings(), options);
      expect(result.error).toBeUndefined();
      expect(result.outcome).toBe('passed');
      expect(result.server?.version).toMatch(/\d/);
    });

    it('fails at auth with AUTH_FAILED for a wrong password', async () => {
      const result = await verifyConnection(
        { ...settings(), password: `${settings().password}-wrong` },
        options,
      );
      expect(stageSummary(result)).toMatchObject({ auth: 'failed:AUTH_FAILED' });
    });

    it('fails with DATABASE_NOT_FOUND for a database that does not exist', async () => {
      const base = settings();
      const missing = `dbconn_missing_${Date.now()}`;
      // Oracle's "database" is the service; MongoDB keeps credentials in authSource, not the database.
      const result = await verifyConnection(
        type === 'ORACLE'
          ? { ...base, metadata: { serviceName: missing } }
          : {
              ...base,
              databaseName: missing,
              metadata: { authSource: base.metadata.authSource ?? base.databaseName },
            },
        options,
      );
      expect(result.error?.code).toBe('DATABASE_NOT_FOUND');
      expect(result.error?.stage).toBe('database');
    });

    it('discovers the schema: tables and fields sorted and distinct, no system collections', async () => {
      const result = await discoverSchema(settings(), { ...discoverOptions(), ...options });
      if (result.outcome !== 'passed') throw new Error(`discovery failed: ${JSON.stringify(result.error)}`);
      expect(result.tables.length).toBeLessThanOrEqual(1000);
      const sortedDistinct = (values: string[]) => [...new Set(values)].sort(compareCodePoints);
      const names = result.tables.map((t) => t.name);
      expect(names).toEqual(sortedDistinct(names));
      for (const table of result.tables) expect(table.fields).toEqual(sortedDistinct(table.fields));
      if (type === 'MONGODB') expect(names.filter((name) => name.startsWith('system.'))).toEqual([]);
    });

    it.skipIf(!hasSchemas)(
      'fails at schema with SCHEMA_NOT_FOUND for a schema that does not exist',
      async () => {
        const result = await verifyConnection(
          { ...settings(), schema: `DBCONN_NOPE_${Date.now()}` },
          options,
        );
        expect(stageSummary(result)).toMatchObject({ database: 'ok', schema: 'failed:SCHEMA_NOT_FOUND' });
      },
    );
  });
}
