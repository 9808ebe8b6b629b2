import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeed, type Harness, http, startApi } from '../harness.js';

const ADMIN = { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'correct horse battery staple' };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const GOOD = { authorization: basic(ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD) };

describe('queue dashboard at /admin/queues', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi(ADMIN);
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ['no credentials', {}],
    ['a wrong password', { authorization: basic('ops', 'correct horse') }],
    ['a wrong user', { authorization: basic('root', ADMIN.ADMIN_PASSWORD) }],
    ['another scheme', { authorization: 'Bearer abc' }],
  ])(
    'answers 401 with a Basic challenge for %s, on the page, its API and its assets',
    async (_what, headers) => {
      for (const path of [
        '/admin/queues',
        '/admin/queues/api/queues',
        '/admin/queues/static/favicon-32x32.png',
      ]) {
        const res = await http(h, 'GET', path, { headers });
        expect(res.status, path).toBe(401);
        expect(res.headers.get('www-authenticate'), path).toMatch(/^Basic realm="[^"]+"/);
        expect(res.body.code).toBe('UNAUTHENTICATED');
      }
    },
  );

  it('serves the page with the credentials, loading only assets this server serves', async () => {
    const page = await http(h, 'GET', '/admin/queues', { headers: GOOD });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = page.body as string;
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.filter((a) => a.startsWith('static/')).length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      // Relative to <base href="/admin/queues/">.
      const res = await fetch(new URL(asset, `${h.url}/admin/queues/`), { headers: GOOD });
      await res.arrayBuffer(); // read it all, so the server can close the connection
      expect(res.status, asset).toBe(200);
    }
  });

  it('lists both queues and the job a create enqueued (ids only in its data)', async () => {
    const created = await createSeed(h);
    expect(created.status).toBe(201);
    const res = await http(h, 'GET', '/admin/queues/api/queues?activeQueue=verify&status=waiting&page=1', {
      headers: GOOD,
    });
    expect(res.status).toBe(200);
    const queues = res.body.queues as { name: string; jobs: { data: Record<string, unknown> }[] }[];
    expect(queues.map((q) => q.name).sort()).toEqual(['interactive', 'verify']);
    const verify = queues.find((q) => q.name === 'verify');
    expect(verify?.jobs.map((j) => j.data.connectionId)).toContain(created.body.id);
    expect(JSON.stringify(res.body)).not.toContain('secretpassword');
  });
});

describe('queue dashboard without credentials configured', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is not mounted', async () => {
    const res = await http(h, 'GET', '/admin/queues');
    expect(res.status).toBe(404);
  });
});
