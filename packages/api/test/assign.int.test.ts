import type { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../examples/typed-client.js';
import { createSeed, type Harness, http, seedBody, startApi } from './harness.js';

const PATH = '/v1/management/connections';

describe('unassigned connections and one-time assignment', () => {
  let h: Harness;
  let api: ReturnType<typeof connect>;
  const { schema: _s, ...base } = seedBody();
  beforeAll(async () => {
    h = await startApi();
    api = connect(h.url);
  });
  afterAll(async () => {
    await h.close();
  });

  it('lists only connections without a product, and assigns one once (REST)', async () => {
    const free = await api.connections.create.mutate({ ...base, configName: 'free-a' });
    await createSeed(h, { configName: 'owned-a' }, 'alpha');

    const listed = await http(h, 'GET', `${PATH}/unassigned`);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ total: 1, page: 1, limit: 10 });
    expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual([free.id]);

    const noHeader = await http(h, 'POST', `${PATH}/${free.id}/assign`);
    expect(noHeader.status).toBe(400);
    expect(noHeader.body.code).toBe('INVALID_HEADER');

    const assigned = await http(h, 'POST', `${PATH}/${free.id}/assign`, {
      headers: { 'x-product-name': 'Beta' },
    });
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ id: free.id, productName: 'beta', version: 2 });

    const again = await http(h, 'POST', `${PATH}/${free.id}/assign`, {
      headers: { 'x-product-name': 'gamma' },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ALREADY_ASSIGNED');
    expect((await http(h, 'GET', `${PATH}/${free.id}`)).body.productName).toBe('beta');
    expect((await http(h, 'GET', `${PATH}/unassigned`)).body.total).toBe(0);

    const missing = await http(h, 'POST', `${PATH}/01890000-0000-7000-8000-000000000000/assign`, {
      headers: { 'x-product-name': 'beta' },
    });
    expect(missing.status).toBe(404);
  });

  it('tRPC listUnassigned and assign answer the same codes', async () => {
    const free = await api.connections.create.mutate({ ...base, configName: 'free-b' });
    const page = await api.connections.listUnassigned.query({});
    expect(page.items.map((c) => c.id)).toContain(free.id);
    expect((await api.connections.assign.mutate({ id: free.id, productName: 'Delta' })).productName).toBe(
      'delta',
    );
    try {
      await api.connections.assign.mutate({ id: free.id, productName: 'epsilon' });
      expect.unreachable();
    } catch (err) {
      expect((err as TRPCClientError<never>).data).toMatchObject({
        code: 'ALREADY_ASSIGNED',
        httpStatus: 409,
      });
    }
  });

  it('only one of two concurrent assignments wins', async () => {
    const free = await api.connections.create.mutate({ ...base, configName: 'free-c' });
    const results = await Promise.all(
      ['one', 'two', 'three'].map((p) =>
        http(h, 'POST', `${PATH}/${free.id}/assign`, { headers: { 'x-product-name': p } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
  });
});
