import mysql2 from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialSettings } from '../src/engines/types.js';
import { discoverSchema } from '../src/verify/discover-schema.js';
import { verifyConnection } from '../src/verify/verify-connection.js';
import { randomSuffix } from './fixtures/index.js';
import { dialSettings, discoverOptions, verifyOptions } from './helpers/verify.js';

/**
 * Schema discovery against the machine's shared MariaDB (root, empty password on 127.0.0.1):
 * databases and a user made for this file only, dropped after. For MySQL the schema is the
 * database.
 */

const suffix = randomSuffix();
const database = `dbconn_t_${suffix}_disc`;
const otherDatabase = `dbconn_t_${suffix}_disc_other`;
const closedDatabase = `dbconn_t_${suffix}_disc_closed`;
const user = `dbconn_t_${suffix}_d`;
const password = `My-${suffix}!`;
// The server sees 127.0.0.1 connections as coming from 127.0.0.1 (skip_name_resolve), other setups as localhost.
const hosts = ['%', 'localhost', '127.0.0.1'];

let root: mysql2.Connection;

beforeAll(async () => {
  root = await mysql2.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
  for (const name of [database, otherDatabase, closedDatabase])
    await root.query(`CREATE DATABASE \`${name}\``);
  await root.query(
    `CREATE TABLE \`${database}\`.orders (id INT PRIMARY KEY, customer_id INT, \`Total\` DECIMAL(10, 2), created_at DATETIME)`,
  );
  await root.query(
    `CREATE TABLE \`${database}\`.\`Customers\` (id INT, name VARCHAR(50), email VARCHAR(100))`,
  );
  await root.query(`CREATE TABLE \`${otherDatabase}\`.invoices (id INT, amount DECIMAL(10, 2))`);
  await root.query(
    `CREATE VIEW \`${otherDatabase}\`.large_invoices AS SELECT id, amount FROM \`${otherDatabase}\`.invoices WHERE amount > 100`,
  );
  // MariaDB reports a system-versioned table with its own TABLE_TYPE; it is a table all the same.
  await root.query(
    `CREATE TABLE \`${otherDatabase}\`.ledger (id INT, entry VARCHAR(50)) WITH SYSTEM VERSIONING`,
  );
  // MariaDB lists sequences in information_schema.TABLES too; they are not tables to map.
  await root.query(`CREATE SEQUENCE \`${otherDatabase}\`.invoice_numbers`);
  await root.query(`CREATE TABLE \`${closedDatabase}\`.secrets (id INT, pin VARCHAR(10))`);
  for (const host of hosts) {
    await root.query('CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
    await root.query(`GRANT SELECT ON \`${database}\`.* TO ?@?`, [user, host]);
    await root.query(`GRANT SELECT ON \`${otherDatabase}\`.* TO ?@?`, [user, host]);
  }
});

afterAll(async () => {
  for (const host of hosts) await root.query('DROP USER IF EXISTS ?@?', [user, host]);
  for (const name of [database, otherDatabase, closedDatabase]) {
    await root.query(`DROP DATABASE IF EXISTS \`${name}\``);
  }
  await root.end();
});

const settings = (overrides: Partial<DialSettings> = {}) =>
  dialSettings({ type: 'MYSQL', port: 3306, userName: user, password, databaseName: database, ...overrides });

const expectedTables = [
  { name: 'Customers', fields: ['email', 'id', 'name'] },
  { name: 'orders', fields: ['Total', 'created_at', 'customer_id', 'id'] },
];

describe('MySQL/MariaDB schema discovery', () => {
  it('lists exactly the tables of the database and their columns, in code-point order', async () => {
    const result = await discoverSchema(settings(), discoverOptions());
    expect(result).toEqual({ outcome: 'passed', schema: database, tables: expectedTables });
  });

  it('shows nothing of other databases, the system ones included, even to a user who sees them all', async () => {
    const result = await discoverSchema(
      dialSettings({ type: 'MYSQL', port: 3306, userName: 'root', password: '', databaseName: database }),
      discoverOptions(),
    );
    expect(result).toEqual({ outcome: 'passed', schema: database, tables: expectedTables });
  });

  it('discovers the database named as the schema: views and system-versioned tables, not sequences', async () => {
    const result = await discoverSchema(settings({ schema: otherDatabase }), discoverOptions());
    expect(result).toEqual({
      outcome: 'passed',
      schema: otherDatabase,
      tables: [
        { name: 'invoices', fields: ['amount', 'id'] },
        { name: 'large_invoices', fields: ['amount', 'id'] },
        { name: 'ledger', fields: ['entry', 'id'] },
      ],
    });
  });

  it('fails with the error verifyConnection gives for a schema the user may not use', async () => {
    const discovered = await discoverSchema(settings({ schema: closedDatabase }), discoverOptions());
    const verified = await verifyConnection(settings({ schema: closedDatabase }), verifyOptions());
    expect(discovered).toEqual({ outcome: 'failed', error: verified.error });
    expect(discovered).toMatchObject({ error: { stage: 'schema', code: 'PERMISSION_DENIED' } });
  });

  it('fails at auth with AUTH_FAILED for a wrong password, without echoing it', async () => {
    const wrong = `Wrong-${suffix}`;
    const result = await discoverSchema(settings({ password: wrong }), discoverOptions());
    expect(result).toMatchObject({ outcome: 'failed', error: { stage: 'auth', code: 'AUTH_FAILED' } });
    expect(JSON.stringify(result)).not.toContain(wrong);
  });
});
