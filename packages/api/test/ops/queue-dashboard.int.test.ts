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

describe('the dashboard cannot be framed, load foreign code, or write arbitrary job data', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi(ADMIN);
  });
  afterAll(async () => {
    await h?.close();
  });

  const jobs = async () => (await h.queue.getJobs(['waiting', 'delayed', 'prioritized'])).filter(Boolean);

  it('its page and API carry a content security policy with frame-ancestors none', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      for (const headers of [GOOD, {}]) {
        const res = await http(h, 'GET', path, { headers });
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp, path).toContain("frame-ancestors 'none'");
        expect(csp, path).toContain("script-src 'self'");
        expect(csp, path).toContain("default-src 'self'");
        expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      }
    }
  });

  it.each([
    ['a dial target in the data', { host: '169.254.169.254', port: 80, password: 'x' }],
    ['an extra field next to valid ids', { ...validJob(), host: 'evil.example' }],
    ['no data at all', undefined],
  ])('"add job" with %s answers 400 and adds nothing', async (_, data) => {
    const before = (await jobs()).length;
    const res = await http(h, 'POST', '/admin/queues/api/queues/verify/add', {
      headers: GOOD,
      body: { name: 'verify-connection', data, options: {} },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect((await jobs()).length).toBe(before);
  });

  it('"add job" with another job name or job options answers 400', async () => {
    for (const body of [
      { name: 'reverify-tick', data: validJob(), options: {} },
      { name: 'verify-connection', data: validJob(), options: { delay: 1, jobId: 'x' } },
    ]) {
      const res = await http(h, 'POST', '/admin/queues/api/queues/verify/add', { headers: GOOD, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('"add job" with the ids of a verification is allowed', async () => {
    const res = await http(h, 'POST', '/admin/queues/api/queues/verify/add', {
      headers: GOOD,
      body: { name: 'verify-connection', data: validJob() },
    });
    expect(res.status).toBe(200);
    expect((await jobs()).some((j) => j.data.connectionId === validJob().connectionId)).toBe(true);
  });

  it('"update data" of a job must keep it a verification', async () => {
    const created = await createSeed(h, { configName: 'dashboard-update-data' });
    const job = (await jobs()).find((j) => j.data.connectionId === created.body.id);
    expect(job).toBeDefined();
    const path = `/admin/queues/api/queues/verify/${encodeURIComponent(job?.id ?? '')}/update-data`;
    const refused = await http(h, 'PATCH', path, {
      headers: GOOD,
      body: { jobData: { ...job?.data, host: '127.0.0.1', port: 6379 } },
    });
    expect(refused.status).toBe(400);
    expect((await h.queue.getJob(job?.id ?? ''))?.data).toEqual(job?.data);
    const allowed = await http(h, 'PATCH', path, {
      headers: GOOD,
      body: { jobData: { ...job?.data, reason: 'sweep' } },
    });
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
    expect((await h.queue.getJob(job?.id ?? ''))?.data.reason).toBe('sweep');
  });
});

function validJob() {
  return {
    connectionId: '01890000-0000-7000-8000-00000000d0b1',
    organizationId: 'default',
    dialVersion: 1,
    reason: 'created',
  };
}

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
