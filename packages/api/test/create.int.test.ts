import { verifyJobId } from '@dbconn/shared';
import { TEST_CA_PEM } from '@dbconn/shared/test-fixtures/pem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeed, type Harness, http, seedBody, startApi } from './harness.js';

/** The password, and a line of the CA's base64 body (the CA is sealed like the password). */
const SECRETS = ['secretpassword', TEST_CA_PEM.split('\n')[1] as string];

describe('POST /v1/management/connections (the seed)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers 201 with the seed response fields, pending, version 1, and a Location', async () => {
    const res = await createSeed(h, {}, 'My-Product');
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = res.body;
    expect(body).toMatchObject({
      configName: 'production-db',
      productName: 'my-product',
      type: 'POSTGRESQL',
      host: 'db.example.com',
      port: 5432,
      databaseName: 'mydatabase',
      userName: 'dbuser',
      schema: 'public',
      ssl: { mode: 'require' },
      metadata: { environment: 'production', team: 'data-engineering' },
      status: 'pending',
      version: 1,
    });
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(body.updatedAt).toBe(body.createdAt);
    expect(body).not.toHaveProperty('password');
    expect(body.ssl).toEqual({ mode: 'require' });
    expect(res.headers.get('location')).toBe(`/v1/management/connections/${body.id}`);

    const again = await http(h, 'GET', res.headers.get('location') as string);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(body);
  });

  it('stores secrets sealed: no plaintext in the raw rows, the job data or the logs', async () => {
    const res = await createSeed(h, { configName: 'sealed-check' });
    expect(res.status).toBe(201);
    const rows = await h.rawRows();
    const row = rows.find((r) => r.id === res.body.id);
    expect(row).toBeDefined();
    const rawRow = JSON.stringify(row);
    for (const secret of SECRETS) expect(rawRow).not.toContain(secret);
    expect(String(row?.sealed_secrets)).toMatch(/^v1\./);

    const job = await h.queue.getJob(verifyJobId({ connectionId: res.body.id, dialVersion: 1 }));
    expect(job?.data).toEqual({
      connectionId: res.body.id,
      organizationId: 'default',
      dialVersion: 1,
      reason: 'created',
    });
    const redisDump = await h.redisDump();
    expect(redisDump).toContain(res.body.id);
    for (const secret of SECRETS) expect(redisDump).not.toContain(secret);

    const logs = h.logs.join('\n');
    expect(logs).toContain(res.body.id);
    for (const secret of SECRETS) expect(logs).not.toContain(secret);
  });

  it('accepts the type in any letter case and returns it upper-cased', async () => {
    const res = await createSeed(h, { configName: 'lower-type', type: 'postgresql' });
    expect(res.status).toBe(201);
    expect(res.body.type).toBe('POSTGRESQL');
  });

  it('omits schema and ssl from the resource when they were not given', async () => {
    const { schema: _s, ssl: _ssl, ...rest } = seedBody();
    const res = await http(h, 'POST', '/v1/management/connections', {
      body: { ...rest, configName: 'no-extras' },
      headers: { 'x-product-name': 'p1' },
    });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty('schema');
    expect(res.body).not.toHaveProperty('ssl');
  });
});
