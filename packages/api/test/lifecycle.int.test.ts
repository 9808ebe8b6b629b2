import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeed, type Harness, http, startApi } from './harness.js';

const PATH = '/v1/management/connections';

describe('uniqueness, delete and get', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h.close();
  });

  it('a second configName in another letter case answers 409; after DELETE the name is free', async () => {
    const first = await createSeed(h, { configName: 'Orders-DB' });
    expect(first.status).toBe(201);

    const clash = await createSeed(h, { configName: '  orders-db ' }, 'other-product');
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('CONFIG_NAME_TAKEN');
    expect(clash.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await h.rawRows()).length).toBe(1);

    const del = await http(h, 'DELETE', `${PATH}/${first.body.id}`);
    expect(del.status).toBe(204);
    expect(del.body).toBeUndefined();

    const gone = await http(h, 'GET', `${PATH}/${first.body.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('NOT_FOUND');
    expect((await http(h, 'DELETE', `${PATH}/${first.body.id}`)).status).toBe(404);

    const reused = await createSeed(h, { configName: 'ORDERS-db' });
    expect(reused.status).toBe(201);
    expect(reused.body.id).not.toBe(first.body.id);
  });

  it('X-Product-Name scopes get and delete: another product sees 404', async () => {
    const mine = await createSeed(h, { configName: 'scoped-one' }, 'alpha');
    expect(
      (await http(h, 'GET', `${PATH}/${mine.body.id}`, { headers: { 'x-product-name': 'ALPHA' } })).status,
    ).toBe(200);
    expect(
      (await http(h, 'GET', `${PATH}/${mine.body.id}`, { headers: { 'x-product-name': 'beta' } })).status,
    ).toBe(404);
    expect(
      (await http(h, 'DELETE', `${PATH}/${mine.body.id}`, { headers: { 'x-product-name': 'beta' } })).status,
    ).toBe(404);
    expect((await http(h, 'GET', `${PATH}/${mine.body.id}`)).status).toBe(200);
    const bad = await http(h, 'GET', `${PATH}/${mine.body.id}`, {
      headers: { 'x-product-name': 'no spaces' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_HEADER');
  });
});

describe('GET /v1/management/connections (list)', () => {
  let h: Harness;
  const ids: string[] = [];
  beforeAll(async () => {
    h = await startApi();
    const rows: [string, string, string, Record<string, string>][] = [
      ['list-a', 'POSTGRESQL', 'alpha', { team: 'data', env: 'prod' }],
      ['list-b', 'MYSQL', 'alpha', { team: 'data', env: 'dev' }],
      ['list-c', 'MONGODB', 'beta', { team: 'web', env: 'prod' }],
      ['list-d', 'POSTGRESQL', 'beta', { team: 'data', env: 'prod' }],
      ['list-e', 'ORACLE', 'alpha', {}],
    ];
    for (const [configName, type, product, metadata] of rows) {
      const res = await createSeed(h, { configName, type, metadata }, product);
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
  });
  afterAll(async () => {
    await h.close();
  });

  const list = async (query: string, headers: Record<string, string> = {}) => {
    const res = await http(h, 'GET', `${PATH}${query}`, { headers });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as {
      items: { id: string; configName: string }[];
      page: number;
      limit: number;
      total: number;
    };
  };
  const names = (page: { items: { configName: string }[] }) => page.items.map((i) => i.configName);

  it('defaults: page 1, limit 10, newest first', async () => {
    const page = await list('');
    expect(page).toMatchObject({ page: 1, limit: 10, total: 5 });
    expect(names(page)).toEqual(['list-e', 'list-d', 'list-c', 'list-b', 'list-a']);
    for (const item of page.items) expect(item).not.toHaveProperty('password');
  });

  it('sortOrder=asc, paging with total', async () => {
    expect(names(await list('?sortOrder=asc'))).toEqual(['list-a', 'list-b', 'list-c', 'list-d', 'list-e']);
    const p2 = await list('?sortOrder=asc&limit=2&page=2');
    expect(p2).toMatchObject({ page: 2, limit: 2, total: 5 });
    expect(names(p2)).toEqual(['list-c', 'list-d']);
    expect(names(await list('?limit=2&page=4'))).toEqual([]);
  });

  it('filters: type (any case), status, metadata (ANDed), product header', async () => {
    expect(names(await list('?type=postgresql&sortOrder=asc'))).toEqual(['list-a', 'list-d']);
    expect((await list('?status=pending')).total).toBe(5);
    expect((await list('?status=active')).total).toBe(0);
    expect(names(await list('?metadata.team=data&metadata.env=prod&sortOrder=asc'))).toEqual([
      'list-a',
      'list-d',
    ]);
    expect(names(await list('?sortOrder=asc', { 'x-product-name': 'Beta' }))).toEqual(['list-c', 'list-d']);
  });

  it('dates: the days they were created include everything, the day after nothing; no hidden window', async () => {
    // The days come from the records themselves, so a run that crosses UTC midnight still holds.
    const { items } = (await http(h, 'GET', `${PATH}?sortOrder=asc`)).body as {
      items: { createdAt: string }[];
    };
    const first = items[0]?.createdAt.slice(0, 10);
    const last = items.at(-1)?.createdAt.slice(0, 10) ?? '';
    const dayAfter = new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    expect((await list(`?startDate=${first}&endDate=${last}`)).total).toBe(5);
    expect((await list(`?startDate=${dayAfter}`)).total).toBe(0);
    expect((await list('?endDate=2000-01-01')).total).toBe(0);
  });

  it.each([
    ['?limit=101', 'limit'],
    ['?limit=0', 'limit'],
    ['?page=0', 'page'],
    ['?page=1.5', 'page'],
    ['?page=abc', 'page'],
    ['?sortOrder=up', 'sortOrder'],
    ['?type=sqlite', 'type'],
    ['?status=done', 'status'],
    ['?startDate=2024-13-01', 'startDate'],
    ['?startDate=2024-02-30', 'startDate'],
    ['?startDate=2024-03-02&endDate=2024-03-01', 'endDate'],
    ['?colour=red', 'colour'],
    ['?metadata.team=a&metadata.team=b', 'metadata.team'],
  ])('%s answers 400 naming %s', async (query, field) => {
    const res = await http(h, 'GET', `${PATH}${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });
});
