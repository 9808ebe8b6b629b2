import { randomBytes } from 'node:crypto';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../examples/typed-client.js';
import { bearer, signHs256 } from './auth/fixtures.js';
import { createSeed, type Harness, http, seedBody, startApi } from './harness.js';

const PATH = '/v1/management/connections';
const MASTER_KEYS = `1:${randomBytes(32).toString('base64')}`;

/** The cloud metadata address in every spelling a host field can carry. */
const METADATA_FORMS = [
  '169.254.169.254',
  '0xa9fea9fe',
  '0xa9.0xfe.0xa9.0xfe',
  '::ffff:169.254.169.254',
  '::ffff:a9fe:a9fe',
  '64:ff9b::a9fe:a9fe',
  '64:ff9b:1:a9fe:a9:fe00::',
  'fd00:ec2::254',
  // IPv4-compatible: refused whatever it embeds.
  '::10.1.2.3',
];

const fields = (res: { body: { errors?: { field: string }[] } }) =>
  [...new Set((res.body.errors ?? []).map((e) => e.field))].sort();

describe('a host written as an address is judged at input (docs/contract.md §8)', () => {
  let h: Harness;
  let seq = 0;
  const unique = () => `egress-${++seq}-${Date.now()}`;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(METADATA_FORMS)('create with host %s: 400 naming host, nothing stored', async (host) => {
    const before = (await h.rawRows()).length;
    const res = await createSeed(h, { configName: unique(), host });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(fields(res)).toEqual(['host']);
    expect(res.body.errors[0].message).toBe(`host ${host} is not allowed by this service's network policy`);
    expect((await h.rawRows()).length).toBe(before);
  });

  it("the store's own database at its address and port is refused; another database on that server is not", async () => {
    // The harness's store lives in the database dbconn_test of 127.0.0.1:5432.
    const own = await createSeed(h, {
      configName: unique(),
      host: '127.0.0.1',
      port: 5432,
      databaseName: 'dbconn_test',
    });
    expect(own.status, JSON.stringify(own.body)).toBe(400);
    expect(fields(own)).toEqual(['host']);
    expect(own.body.errors[0].message).toMatch(/one of this service's own endpoints/);
    for (const host of ['::ffff:127.0.0.1', '127.0.0.2', '0x7f000001']) {
      const res = await createSeed(h, {
        configName: unique(),
        host,
        port: 5432,
        databaseName: 'DBCONN_TEST',
      });
      expect(res.status, host).toBe(400);
    }
    const other = await createSeed(h, {
      configName: unique(),
      host: '127.0.0.1',
      port: 5432,
      databaseName: 'test',
    });
    expect(other.status, JSON.stringify(other.body)).toBe(201);
  });

  it('Redis is refused at its port whatever the database', async () => {
    const res = await createSeed(h, { configName: unique(), host: '127.0.0.1', port: 6379 });
    expect(res.status).toBe(400);
    expect(fields(res)).toEqual(['host']);
  });

  it('update: moving a connection to a refused address is a 400 and changes nothing', async () => {
    const created = await createSeed(h, { configName: unique() });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    for (const change of [{ host: '169.254.169.254' }, { host: '127.0.0.1', port: 6379 }]) {
      const res = await http(h, 'PATCH', `${PATH}/${id}`, { body: { ...change, password: 'again' } });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(fields(res)).toEqual(['host']);
    }
    const after = await http(h, 'GET', `${PATH}/${id}`);
    expect(after.body).toMatchObject({ host: 'db.example.com', port: 5432, version: 1 });
    // A connection stored at an address before a policy change can still be renamed.
    const renamed = await http(h, 'PATCH', `${PATH}/${id}`, { body: { configName: unique() } });
    expect(renamed.status).toBe(200);
  });

  it('try before save: a refused address is a 400 before anything is queued', async () => {
    const { configName: _c, ...body } = seedBody();
    const res = await http(h, 'POST', `${PATH}/test`, { body: { ...body, host: '64:ff9b::a9fe:a9fe' } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(fields(res)).toEqual(['host']);
    const created = await createSeed(h, { configName: unique() });
    const withId = await http(h, 'POST', `${PATH}/test`, {
      body: { id: created.body.id, host: '169.254.169.254', password: 'again' },
    });
    expect(withId.status).toBe(400);
    expect(fields(withId)).toEqual(['host']);
  });

  it('tRPC create answers BAD_REQUEST for the same host', async () => {
    const api = connect(h.url);
    const { configName: _c, ...body } = seedBody();
    const error = await api.connections.create
      .mutate({ ...body, configName: unique(), host: '169.254.169.254' } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ httpStatus: 400 });
  });

  it('a host name is not judged at input: it is resolved when the worker dials', async () => {
    const res = await createSeed(h, { configName: unique(), host: 'metadata.example.com' });
    expect(res.status).toBe(201);
  });
});

describe('the deployment modes at input', () => {
  it('production refuses loopback unless an allow list opens it', async () => {
    // Auth is not what this is about: AUTH_REQUIRED=false lets a production API start without it.
    const env = { NODE_ENV: 'production', MASTER_KEYS, AUTH_REQUIRED: 'false' };
    const production = await startApi(env);
    const opened = await startApi({ ...env, EGRESS_ALLOW: '127.0.0.0/8' });
    try {
      const body = { configName: 'loopback-db', host: '127.0.0.1', port: 5433 };
      expect((await createSeed(production, body)).status).toBe(400);
      expect((await createSeed(production, { ...body, host: '10.1.2.3' })).status).toBe(201);
      expect((await createSeed(opened, body)).status).toBe(201);
    } finally {
      await production.close();
      await opened.close();
    }
  });

  it("multi-tenant is strict, opened per organization (the token's tenant) by EGRESS_TENANT_ALLOW", async () => {
    const secret = randomBytes(32).toString('hex');
    const h = await startApi({
      MULTI_TENANT_ENABLED: 'true',
      AUTH_JWT_SECRET: secret,
      EGRESS_TENANT_ALLOW: 'tenant-a=10.1.0.0/16;tenant-b=192.168.0.0/16',
    });
    const create = async (tenantId: string, host: string) =>
      http(h, 'POST', PATH, {
        body: { ...seedBody(), configName: `private-${randomBytes(3).toString('hex')}`, host },
        headers: { 'x-product-name': 'p', ...bearer(await signHs256(secret, { tenantId })) },
      });
    try {
      expect((await create('tenant-a', '10.1.2.3')).status).toBe(201);
      expect((await create('tenant-b', '10.1.2.3')).status).toBe(400);
      expect((await create('tenant-c', '10.1.2.3')).status).toBe(400);
      expect((await create('tenant-b', '192.168.1.1')).status).toBe(201);
      expect((await create('tenant-a', '127.0.0.1')).status).toBe(400);
    } finally {
      await h.close();
    }
  });
});
