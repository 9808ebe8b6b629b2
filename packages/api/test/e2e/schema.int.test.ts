import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { type Harness, http, PG_URL, startApi } from '../harness.js';
import { createConnection, PATH } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

const suffix = randomBytes(3).toString('hex');
const SALES = `sales_${suffix}`;
const HR = `hr_${suffix}`;
const MARIA_DB = `dbconn_schema_${suffix}`;

const MARIA_USER = `dbconn_s_${suffix}`;
const maria = (sql: string) => execFileSync('mariadb', ['-h', '127.0.0.1', '-u', 'root', '-e', sql]);

describe('schema discovery and validate-schema against real PostgreSQL and MariaDB', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let admin: pg.Client;
  const pgSettings = (schema: string) => ({
    type: 'POSTGRESQL',
    host: '127.0.0.1',
    port: 5432,
    databaseName: 'test',
    userName: 'postgres',
    password: 'trust',
    schema,
  });

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${SALES}; CREATE SCHEMA ${HR};
      CREATE TABLE ${SALES}.orders (id int primary key, total numeric, customer_id int);
      CREATE TABLE ${SALES}.customers (id int primary key, name text);
      CREATE TABLE ${HR}.employees (id int primary key, salary numeric);`);
    maria(`CREATE DATABASE ${MARIA_DB}; CREATE TABLE ${MARIA_DB}.invoices (id INT PRIMARY KEY, amount DECIMAL(10,2));
      CREATE TABLE ${MARIA_DB}.items (sku VARCHAR(20), invoice_id INT);
      CREATE USER '${MARIA_USER}'@'%' IDENTIFIED BY 'pw-${suffix}';
      CREATE USER '${MARIA_USER}'@'localhost' IDENTIFIED BY 'pw-${suffix}';
      GRANT SELECT ON ${MARIA_DB}.* TO '${MARIA_USER}'@'%';
      GRANT SELECT ON ${MARIA_DB}.* TO '${MARIA_USER}'@'localhost';`);
    h = await startApi();
    worker = await startWorkerProcess(h.env);
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS ${SALES} CASCADE; DROP SCHEMA IF EXISTS ${HR} CASCADE`);
    await admin?.end();
    maria(
      `DROP DATABASE IF EXISTS ${MARIA_DB}; DROP USER IF EXISTS '${MARIA_USER}'@'%'; DROP USER IF EXISTS '${MARIA_USER}'@'localhost'`,
    );
  });

  it('PostgreSQL: exactly the tables and columns of the connection schema, sorted', async () => {
    const id = await createConnection(h, pgSettings(SALES));
    const res = await http(h, 'GET', `${PATH}/${id}/schema`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id, databaseName: 'test', type: 'POSTGRESQL', schema: SALES });
    expect(res.body.tables).toEqual([
      { name: 'customers', fields: ['id', 'name'] },
      { name: 'orders', fields: ['customer_id', 'id', 'total'] },
    ]);
  });

  it('answers from its cache until a PATCH, which drops the cached answer', async () => {
    const id = await createConnection(h, pgSettings(SALES));
    const tablesOf = async () =>
      (await http(h, 'GET', `${PATH}/${id}/schema`)).body.tables as { name: string }[];
    expect((await tablesOf()).map((t) => t.name)).toEqual(['customers', 'orders']);
    // A table added behind the cache's back is not seen yet: the answer comes from the cache.
    await admin.query(`CREATE TABLE ${SALES}.refunds (id int primary key)`);
    expect((await tablesOf()).map((t) => t.name)).toEqual(['customers', 'orders']);

    const patched = await http(h, 'PATCH', `${PATH}/${id}`, { body: { schema: HR } });
    expect(patched.status).toBe(200);
    const after = await http(h, 'GET', `${PATH}/${id}/schema`);
    expect(after.body.schema).toBe(HR);
    expect(after.body.tables).toEqual([{ name: 'employees', fields: ['id', 'salary'] }]);
    // Back to the first schema: discovered anew, so the added table is there.
    expect((await http(h, 'PATCH', `${PATH}/${id}`, { body: { schema: SALES } })).status).toBe(200);
    expect((await tablesOf()).map((t) => t.name)).toEqual(['customers', 'orders', 'refunds']);
    await admin.query(`DROP TABLE ${SALES}.refunds`);
  });

  it('MariaDB: exactly the tables of the database', async () => {
    const id = await createConnection(h, {
      type: 'MYSQL',
      host: '127.0.0.1',
      port: 3306,
      databaseName: MARIA_DB,
      userName: MARIA_USER,
      password: `pw-${suffix}`,
    });
    const res = await http(h, 'GET', `${PATH}/${id}/schema`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.tables).toEqual([
      { name: 'invoices', fields: ['amount', 'id'] },
      { name: 'items', fields: ['invoice_id', 'sku'] },
    ]);
  });

  it('an unreachable connection answers 502 DATA_SOURCE_DOWN with the stage and code', async () => {
    const id = await createConnection(h, { ...pgSettings(SALES), host: 'nowhere.invalid' });
    const res = await http(h, 'GET', `${PATH}/${id}/schema`);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({
      code: 'DATA_SOURCE_DOWN',
      error: { stage: 'dns', code: 'DNS_NOT_FOUND' },
    });
  });

  it('validate-schema: 200 when everything exists; one 422 lists a missing table, field and config name in order', async () => {
    const name = `validate-${suffix}`;
    await http(h, 'POST', PATH, {
      body: { ...pgSettings(SALES), configName: name },
      headers: { 'x-product-name': 'e2e' },
    });
    const ok = await http(h, 'POST', `${PATH}/validate-schema`, {
      body: { mappedFields: { [name]: { orders: ['id', 'total'], customers: ['name'] } } },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toEqual({ status: 'success', dataSources: 1, tables: 2, fields: 3 });

    const bad = await http(h, 'POST', `${PATH}/validate-schema`, {
      body: {
        mappedFields: {
          [name]: { orders: ['id', 'discount'], invoices: ['id'] },
          'no-such-config': { t: ['f'] },
        },
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('SCHEMA_VALIDATION_FAILED');
    expect(
      bad.body.errors.map((e: Record<string, string>) => [e.type, e.dataSourceId, e.table, e.field]),
    ).toEqual([
      ['FIELD_NOT_FOUND', name, 'orders', 'discount'],
      ['TABLE_NOT_FOUND', name, 'invoices', undefined],
      ['DATA_SOURCE_NOT_FOUND', 'no-such-config', undefined, undefined],
    ]);

    const trpc = connect(h.url);
    await expect(
      trpc.connections.validateSchema.mutate({ mappedFields: { 'no-such-config': { t: ['f'] } } }),
    ).rejects.toMatchObject({
      data: { code: 'SCHEMA_VALIDATION_FAILED', httpStatus: 422 },
    });
  });

  it('validate-schema reports DATA_SOURCE_DOWN for an unreachable connection', async () => {
    const name = `down-${suffix}`;
    await http(h, 'POST', PATH, {
      body: { ...pgSettings(SALES), host: 'nowhere.invalid', configName: name },
      headers: { 'x-product-name': 'e2e' },
    });
    const res = await http(h, 'POST', `${PATH}/validate-schema`, {
      body: { mappedFields: { [name]: { orders: ['id'] } } },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      { type: 'DATA_SOURCE_DOWN', dataSourceId: name, message: expect.any(String) },
    ]);
  });

  it('validate-schema limits: 11 connections, 21 tables, 51 fields answer 400', async () => {
    const many = (n: number, make: (i: number) => [string, unknown]) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => make(i)));
    const cases = [
      many(11, (i) => [`c${i}`, { t: ['f'] }]),
      { c: many(21, (i) => [`t${i}`, ['f']]) },
      { c: { t: Array.from({ length: 51 }, (_, i) => `f${i}`) } },
      { c: {} },
    ];
    for (const mappedFields of cases) {
      const res = await http(h, 'POST', `${PATH}/validate-schema`, { body: { mappedFields } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });
});
