import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { discoverSchema } from '../src/verify/discover-schema.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { randomSuffix } from './fixtures/index.js';
import { dialSettings, discoverOptions, verifyOptions } from './helpers/verify.js';

/**
 * Schema discovery against the machine's shared PostgreSQL: databases and a role made for this
 * file only, dropped after. The role logs in with trust; what it may see is set with GRANTs.
 */

const suffix = randomSuffix();
const database = `dbconn_t_${suffix}_disc`;
/** information_schema.tables is not readable by PUBLIC here. */
const noCatalogDatabase = `dbconn_t_${suffix}_nocat`;
/** information_schema.tables has been renamed here: the catalog query fails with an unknown error. */
const brokenCatalogDatabase = `dbconn_t_${suffix}_broken`;
const role = `dbconn_t_${suffix}_disc`;

const shared = new pg.Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres', max: 1 });

async function inDatabase(name: string, sql: string) {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: name });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await shared.query(`CREATE ROLE ${role} LOGIN`);
  for (const name of [database, noCatalogDatabase, brokenCatalogDatabase]) {
    await shared.query(`CREATE DATABASE ${name}`);
  }
  await inDatabase(
    database,
    `CREATE SCHEMA sales;
     CREATE SCHEMA hr;
     CREATE SCHEMA wide;
     CREATE SCHEMA locked;
     CREATE TABLE sales.orders (id int PRIMARY KEY, customer_id int, "Total" numeric, created_at timestamptz);
     CREATE TABLE sales.customers (id int, name text, email text);
     CREATE TABLE sales."Zeta" (note text, id int);
     CREATE VIEW sales.big_orders AS SELECT id, "Total" FROM sales.orders WHERE "Total" > 100;
     CREATE SEQUENCE sales.order_numbers;
     CREATE TABLE sales.payroll_copy (id int, salary numeric);
     CREATE TABLE hr.employees (id int, salary numeric);
     CREATE TABLE public.notes (id int, body text);
     CREATE TABLE locked.hidden (id int);
     DO $$ BEGIN
       FOR i IN 1..1001 LOOP
         EXECUTE format('CREATE TABLE wide.%I (id int)', 't' || lpad(i::text, 4, '0'));
       END LOOP;
     END $$;
     REVOKE ALL ON SCHEMA locked FROM PUBLIC;
     GRANT USAGE ON SCHEMA sales, hr, wide TO ${role};
     GRANT SELECT ON sales.orders, sales.customers, sales."Zeta", sales.big_orders, hr.employees, public.notes
       TO ${role};
     GRANT SELECT ON ALL TABLES IN SCHEMA wide TO ${role};`,
  );
  await inDatabase(
    noCatalogDatabase,
    `CREATE TABLE public.notes (id int); REVOKE SELECT ON information_schema.tables FROM PUBLIC;`,
  );
  await inDatabase(brokenCatalogDatabase, 'ALTER VIEW information_schema.tables RENAME TO tables_elsewhere;');
});

afterAll(async () => {
  for (const name of [database, noCatalogDatabase, brokenCatalogDatabase]) {
    await shared.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  await shared.query(`DROP ROLE IF EXISTS ${role}`);
  await shared.end();
});

const settings = (overrides: Partial<DialSettings> = {}) =>
  dialSettings({ type: 'POSTGRESQL', port: 5432, userName: role, databaseName: database, ...overrides });

describe('PostgreSQL schema discovery', () => {
  it('lists exactly the tables and views of the schema the role may use, with their columns, in code-point order', async () => {
    const result = await discoverSchema(settings({ schema: 'sales' }), discoverOptions());
    expect(result).toEqual({
      outcome: 'passed',
      schema: 'sales',
      tables: [
        // Upper case before lower case: code points, not the database's collation.
        { name: 'Zeta', fields: ['id', 'note'] },
        { name: 'big_orders', fields: ['Total', 'id'] },
        { name: 'customers', fields: ['email', 'id', 'name'] },
        { name: 'orders', fields: ['Total', 'created_at', 'customer_id', 'id'] },
      ],
    });
  });

  it('shows nothing of other schemas, pg_catalog or information_schema, nor tables without a privilege or sequences', async () => {
    const result = await discoverSchema(settings({ schema: 'sales' }), discoverOptions());
    if (result.outcome !== 'passed') throw new Error(`discovery failed: ${result.error.code}`);
    const names = result.tables.map((t) => t.name);
    for (const absent of ['employees', 'notes', 'pg_class', 'pg_namespace', 'tables', 'columns']) {
      expect(names).not.toContain(absent);
    }
    // sales.payroll_copy exists but the role has no privilege on it; order_numbers is a sequence.
    expect(names).not.toContain('payroll_copy');
    expect(names).not.toContain('order_numbers');
  });

  it('discovers the default schema, public, when the connection names none', async () => {
    const result = await discoverSchema(settings(), discoverOptions());
    expect(result).toEqual({
      outcome: 'passed',
      schema: 'public',
      tables: [{ name: 'notes', fields: ['body', 'id'] }],
    });
  });

  it('discovers another schema the role may use', async () => {
    const result = await discoverSchema(settings({ schema: 'hr' }), discoverOptions());
    expect(result).toEqual({
      outcome: 'passed',
      schema: 'hr',
      tables: [{ name: 'employees', fields: ['id', 'salary'] }],
    });
  });

  it('returns the first 1000 tables, in name order, of a schema with more', async () => {
    const result = await discoverSchema(settings({ schema: 'wide' }), discoverOptions());
    if (result.outcome !== 'passed') throw new Error(`discovery failed: ${result.error.code}`);
    expect(result.tables).toHaveLength(1000);
    expect(result.tables[0]).toEqual({ name: 't0001', fields: ['id'] });
    expect(result.tables.at(-1)).toEqual({ name: 't1000', fields: ['id'] });
  });

  it('fails with the error verifyConnection gives when a stage fails (no USAGE on the schema)', async () => {
    const discovered = await discoverSchema(settings({ schema: 'locked' }), discoverOptions());
    const verified = await verifyConnection(settings({ schema: 'locked' }), verifyOptions());
    expect(discovered).toEqual({ outcome: 'failed', error: verified.error });
    expect(discovered).toMatchObject({ error: { stage: 'schema', code: 'PERMISSION_DENIED' } });
  });

  it('fails with SCHEMA_NOT_FOUND for a schema that does not exist', async () => {
    const result = await discoverSchema(settings({ schema: 'no_such_schema' }), discoverOptions());
    expect(result).toMatchObject({ outcome: 'failed', error: { stage: 'schema', code: 'SCHEMA_NOT_FOUND' } });
  });

  it('fails at schema with PERMISSION_DENIED when the catalog query is refused, though verification passes', async () => {
    const verified = await verifyConnection(settings({ databaseName: noCatalogDatabase }), verifyOptions());
    expect(verified.outcome).toBe('passed');

    const result = await discoverSchema(settings({ databaseName: noCatalogDatabase }), discoverOptions());
    expect(result).toMatchObject({
      outcome: 'failed',
      error: { stage: 'schema', code: 'PERMISSION_DENIED' },
    });
    if (result.outcome !== 'failed') return;
    expect(result.error.message).toBe(
      `User ${role} may not read schema public in database ${noCatalogDatabase}`,
    );
  });

  it('fails at schema with DISCOVERY_FAILED for another server error, without showing the server’s text', async () => {
    const result = await discoverSchema(settings({ databaseName: brokenCatalogDatabase }), discoverOptions());
    expect(result).toMatchObject({ outcome: 'failed', error: { stage: 'schema', code: 'DISCOVERY_FAILED' } });
    expect(JSON.stringify(result)).not.toMatch(/does not exist|relation/);
  });
});
