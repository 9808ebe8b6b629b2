import { randomBytes } from 'node:crypto';
import type { ConnectionRecord } from '@dbconn/shared';
import { TRPCClientError } from '@trpc/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Client, connect } from '../../examples/typed-client.js';
import { startWorkerProcess, type WorkerProcess } from '../e2e/worker-process.js';
import { type Harness, http, PG_URL, type Reply, startApi } from '../harness.js';
import { AUDIENCE, bearer, ISSUER, makeKey, sign } from './fixtures.js';

const BASE = '/v1/management/connections';
const TENANT_A = 'tenant-a';
const TENANT_B = 'tenant-b';

/** What a tRPC call answered: its catalogue code, or 'ok'. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    if (error instanceof TRPCClientError) return String(error.data?.code);
    throw error;
  }
}

/**
 * Tenants cannot see each other (docs/contract.md §8): two organizations named by the token's
 * tenantId, a real worker, and tenant B trying every operation on tenant A's connections through
 * REST and tRPC. Every attempt answers 404 (or an empty list, or "no connection of that name"), and
 * A's records are exactly as they were, verification results included: nothing B did reached the
 * worker for them.
 */
describe('cross-tenant isolation (MULTI_TENANT_ENABLED=true)', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let tokenA: string;
  let tokenB: string;
  let apiA: Client;
  let apiB: Client;
  /** Another subject of tenant A. */
  let apiA2: Client;
  /** A's connection with a product, and A's connection without one (assignable). */
  let owned: string;
  let free: string;
  let ownedOfB: string;
  let before: (ConnectionRecord | null)[];
  const dialSchema = `tenants_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  const mapped = { orders: ['id', 'total'] };

  const target = {
    type: 'POSTGRESQL',
    host: '127.0.0.1',
    port: 5432,
    databaseName: 'test',
    userName: 'postgres',
    password: 'trust',
    schema: dialSchema,
  };
  const restA = (
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ) => http(h, method, path, { ...options, headers: { ...bearer(tokenA), ...options.headers } });
  const restB = (
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ) => http(h, method, path, { ...options, headers: { ...bearer(tokenB), ...options.headers } });
  const storedOfA = () =>
    Promise.all([owned, free].map((id) => h.store.findById({ organizationId: TENANT_A }, id)));

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${dialSchema}`);
    await admin.query(`CREATE TABLE ${dialSchema}.orders (id integer, total numeric)`);
    const key = await makeKey('ES256');
    h = await startApi({
      AUTH_JWT_VERIFY_CERT: key.pem,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      MULTI_TENANT_ENABLED: 'true',
      // Multi-tenant egress is strict: tenant A may dial this machine's PostgreSQL, tenant B may not.
      EGRESS_TENANT_ALLOW: `${TENANT_A}=127.0.0.1/32`,
      INTERACTIVE_TIMEOUT_MS: '10000',
    });
    worker = await startWorkerProcess(h.env);
    tokenA = await sign(key, { claims: { tenantId: TENANT_A, sub: 'alice', owner: 'a-corp' } });
    tokenB = await sign(key, { claims: { tenantId: TENANT_B, sub: 'mallory', owner: 'b-corp' } });
    apiA = connect(h.url, { token: tokenA });
    apiB = connect(h.url, { token: tokenB });
    apiA2 = connect(h.url, {
      token: await sign(key, { claims: { tenantId: TENANT_A, sub: 'bob', owner: 'a-corp' } }),
    });

    const created = await restA('POST', BASE, {
      body: { ...target, configName: 'production-db' },
      headers: { 'x-product-name': 'reports' },
    });
    expect(created.status).toBe(201);
    owned = created.body.id;
    free = (await apiA.connections.create.mutate({ ...target, configName: 'unassigned-a' })).id;
    // Both tenants may hold the same name: B's points somewhere B may not dial.
    const sameName = await restB('POST', BASE, {
      body: { ...target, host: 'localhost', configName: 'production-db' },
      headers: { 'x-product-name': 'reports' },
    });
    expect(sameName.status).toBe(201);
    ownedOfB = sameName.body.id;
    for (const id of [owned, free]) {
      await vi.waitFor(async () => expect((await restA('GET', `${BASE}/${id}`)).body.status).toBe('active'), {
        timeout: 20_000,
        interval: 100,
      });
    }
    // A's schema is discovered and cached: B must not be served it.
    expect((await restA('GET', `${BASE}/${owned}/schema`)).status).toBe(200);
    before = await storedOfA();
    expect(before.every((record) => record?.status === 'active')).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await h?.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${dialSchema} CASCADE`);
    await admin.end();
  });

  it('answers 404 or an empty page to every REST call of tenant B on tenant A’s connections', async () => {
    const product = { 'x-product-name': 'reports' };
    const notFound: [string, string, () => Promise<Reply>][] = [
      ['GET', 'get', () => restB('GET', `${BASE}/${owned}`)],
      ['GET', 'get in the product', () => restB('GET', `${BASE}/${owned}`, { headers: product })],
      ['PATCH', 'update', () => restB('PATCH', `${BASE}/${owned}`, { body: { metadata: { owner: 'b' } } })],
      [
        'PATCH',
        'update with If-Match',
        () =>
          restB('PATCH', `${BASE}/${owned}`, {
            body: { host: 'elsewhere.example' },
            headers: { 'if-match': '"1"' },
          }),
      ],
      ['DELETE', 'delete', () => restB('DELETE', `${BASE}/${owned}`)],
      ['POST', 'test', () => restB('POST', `${BASE}/${owned}/test`)],
      ['POST', 'try with the stored secrets', () => restB('POST', `${BASE}/test`, { body: { id: owned } })],
      ['GET', 'schema', () => restB('GET', `${BASE}/${owned}/schema`)],
      ['POST', 'assign', () => restB('POST', `${BASE}/${free}/assign`, { headers: product })],
    ];
    for (const [method, what, call] of notFound) {
      const res = await call();
      expect(res.status, `${method} ${what}`).toBe(404);
      expect(res.body.code, `${method} ${what}`).toBe('NOT_FOUND');
    }

    const list = await restB('GET', BASE);
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([ownedOfB]);
    expect(list.body.total).toBe(1);
    const listed = await restB('GET', `${BASE}?sortOrder=asc&limit=100`, { headers: product });
    expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual([ownedOfB]);
    expect((await restB('GET', `${BASE}/unassigned`)).body).toMatchObject({ items: [], total: 0 });

    const validate = await restB('POST', `${BASE}/validate-schema`, {
      body: { mappedFields: { 'unassigned-a': mapped } },
    });
    expect(validate.status).toBe(422);
    expect(validate.body.errors).toEqual([expect.objectContaining({ type: 'DATA_SOURCE_NOT_FOUND' })]);

    expect(await storedOfA()).toEqual(before);
  });

  it('answers NOT_FOUND or nothing to every tRPC call of tenant B, the watch subscription included', async () => {
    const b = apiB.connections;
    expect(await outcome(() => b.get.query({ id: owned }))).toBe('NOT_FOUND');
    expect(await outcome(() => b.update.mutate({ id: owned, metadata: { owner: 'b' } }))).toBe('NOT_FOUND');
    expect(await outcome(() => b.update.mutate({ id: owned, port: 5433, password: 'guess' }))).toBe(
      'NOT_FOUND',
    );
    expect(await outcome(() => b.delete.mutate({ id: owned }))).toBe('NOT_FOUND');
    expect(await outcome(() => b.test.mutate({ id: owned }))).toBe('NOT_FOUND');
    expect(await outcome(() => b.testSettings.mutate({ id: owned }))).toBe('NOT_FOUND');
    expect(await outcome(() => b.schema.query({ id: owned }))).toBe('NOT_FOUND');
    expect(await outcome(() => b.assign.mutate({ id: free, productName: 'stolen' }))).toBe('NOT_FOUND');
    expect(await outcome(() => b.validateSchema.mutate({ mappedFields: { 'unassigned-a': mapped } }))).toBe(
      'SCHEMA_VALIDATION_FAILED',
    );
    expect((await b.list.query({})).items.map((c) => c.id)).toEqual([ownedOfB]);
    expect(await b.listUnassigned.query({})).toMatchObject({ items: [], total: 0 });

    const watched = await new Promise<string>((resolve) => {
      const subscription = b.watch.subscribe(
        { id: owned },
        {
          onData: () => {
            subscription.unsubscribe();
            resolve('data');
          },
          onError: (error) => {
            subscription.unsubscribe();
            resolve(error instanceof TRPCClientError ? String(error.data?.code) : 'error');
          },
        },
      );
    });
    expect(watched).toBe('NOT_FOUND');

    expect(await storedOfA()).toEqual(before);
  });

  it('a live trial is watched by the caller who started it only: another tenant or subject gets NOT_FOUND', async () => {
    /** How watching a trial ended: the result's status, or the error's code. */
    const watchTrial = (client: Client, trialId: string) =>
      new Promise<string>((resolve) => {
        const subscription = client.connections.watchTrial.subscribe(
          { trialId },
          {
            onData: (update) => {
              if (update.kind !== 'result') return;
              subscription.unsubscribe();
              resolve(update.result.status);
            },
            onError: (error) => {
              subscription.unsubscribe();
              resolve(error instanceof TRPCClientError ? String(error.data?.code) : 'error');
            },
          },
        );
      });
    const { trialId } = await apiA.connections.startTrial.mutate({ ...target, type: 'POSTGRESQL' });
    expect(await watchTrial(apiB, trialId)).toBe('NOT_FOUND');
    expect(await watchTrial(apiA2, trialId)).toBe('NOT_FOUND');
    // Neither attempt used the trial up.
    expect(await watchTrial(apiA, trialId)).toBe('success');
    expect(await storedOfA()).toEqual(before);
  });

  it('resolves a configName both tenants hold within the caller’s tenant only', async () => {
    // A's production-db is up and has the table.
    const ofA = await restA('POST', `${BASE}/validate-schema`, {
      body: { mappedFields: { 'production-db': mapped } },
    });
    expect(ofA.status).toBe(200);
    // B's production-db is B's own (localhost, which tenant B may not dial): down, not A's tables.
    const ofB = await restB('POST', `${BASE}/validate-schema`, {
      body: { mappedFields: { 'production-db': mapped } },
    });
    expect(ofB.status).toBe(422);
    expect(ofB.body.errors).toEqual([expect.objectContaining({ type: 'DATA_SOURCE_DOWN' })]);
    const bSchema = await restB('GET', `${BASE}/${ownedOfB}/schema`);
    expect(bSchema.status).toBe(502);
    expect(JSON.stringify(bSchema.body)).not.toContain('orders');

    // A's records are untouched by all of it, and A still reaches them.
    expect(await storedOfA()).toEqual(before);
    expect((await apiA.connections.get.query({ id: owned })).configName).toBe('production-db');
    expect((await apiA.connections.listUnassigned.query({})).items.map((c) => c.id)).toEqual([free]);
  });
});
