import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rateLimitKey } from '../src/services/rate-limiter.js';
import { createConnection, LOCAL_PG, PATH } from './e2e/helpers.js';
import { startWorkerProcess, type WorkerProcess } from './e2e/worker-process.js';
import { type Harness, http, startApi } from './harness.js';

/**
 * The rate limits of test and schema discovery beyond the basics (429 + Retry-After per connection,
 * covered in e2e/interactive and e2e/doors): what is counted, and what a refusal leaves untouched.
 * Without a worker an interactive call ends in 504 WORKER_TIMEOUT once its job was queued, which
 * is enough to see whether a request was let through (504) or refused (429).
 */

/** What one limit has counted in this window (null: never counted). */
const counter = (h: Harness, scope: string, key: string) =>
  h.redis.get(rateLimitKey(h.env.QUEUE_PREFIX as string, scope, key));

const mixedCase = (id: string) =>
  [...id].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');

describe('the letter case of an id gets no budget of its own', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi({ RATE_LIMIT_PER_CONNECTION: '3', INTERACTIVE_TIMEOUT_MS: '300' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('POST /{ID}/test and POST /test {id: ID} count against the one budget of the connection', async () => {
    const id = await createConnection(h, LOCAL_PG);
    expect(id).toBe(id.toLowerCase());
    const statuses = [
      (await http(h, 'POST', `${PATH}/${id}/test`)).status,
      (await http(h, 'POST', `${PATH}/${id.toUpperCase()}/test`)).status,
      (await http(h, 'POST', `${PATH}/test`, { body: { id: mixedCase(id), databaseName: 'other' } })).status,
    ];
    expect(statuses).toEqual([504, 504, 504]);
    const limited = await http(h, 'POST', `${PATH}/${mixedCase(id).toUpperCase()}/test`);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({
      code: 'RATE_LIMITED',
      detail: 'Too many test requests for this connection; retry later',
    });
    // the id comes back as stored, whatever the spelling asked for
    expect((await http(h, 'GET', `${PATH}/${id.toUpperCase()}`)).body.id).toBe(id);
  });
});

describe('a refused request takes nothing from the other budgets', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi({
      RATE_LIMIT_PER_CONNECTION: '2',
      RATE_LIMIT_PER_ORGANIZATION: '5',
      INTERACTIVE_TIMEOUT_MS: '300',
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('tests refused on connection A leave the organization budget for B; the organization limit still holds', async () => {
    const [a, b, c, d] = [
      await createConnection(h, LOCAL_PG),
      await createConnection(h, LOCAL_PG),
      await createConnection(h, LOCAL_PG),
      await createConnection(h, LOCAL_PG),
    ];
    const onA: number[] = [];
    for (let i = 0; i < 5; i++) onA.push((await http(h, 'POST', `${PATH}/${a}/test`)).status);
    expect(onA).toEqual([504, 504, 429, 429, 429]);
    expect(await counter(h, 'test', 'organization:default')).toBe('2');
    expect(await counter(h, 'test', `connection:${a}`)).toBe('2');

    // the first test of B is let through, not refused "for this organization"
    const firstOnB = await http(h, 'POST', `${PATH}/${b}/test`);
    expect(firstOnB.status).toBe(504);
    expect((await http(h, 'POST', `${PATH}/${b}/test`)).status).toBe(504);
    expect((await http(h, 'POST', `${PATH}/${c}/test`)).status).toBe(504);
    expect(await counter(h, 'test', 'organization:default')).toBe('5');

    // now the organization is at its max: D is refused for it, and D's own budget is not touched
    const refused = await http(h, 'POST', `${PATH}/${d}/test`);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      code: 'RATE_LIMITED',
      detail: 'Too many test requests for this organization; retry later',
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await counter(h, 'test', `connection:${d}`)).toBeNull();
    expect(await counter(h, 'test', 'organization:default')).toBe('5');
  });
});

describe('validate-schema takes every limit it needs before it discovers anything', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi({ RATE_LIMIT_PER_CONNECTION: '1', INTERACTIVE_TIMEOUT_MS: '300' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('one connection over its limit answers 429 and no other connection is discovered or charged', async () => {
    const name = (suffix: string) => `rl-validate-${suffix}-${Date.now()}`;
    const [nameA, nameB] = [name('a'), name('b')];
    const a = await createConnection(h, { ...LOCAL_PG, configName: nameA });
    const b = await createConnection(h, { ...LOCAL_PG, configName: nameB });
    // A's one discovery in this window
    expect((await http(h, 'GET', `${PATH}/${a}/schema`)).status).toBe(504);

    const res = await http(h, 'POST', `${PATH}/validate-schema`, {
      body: { mappedFields: { [nameB]: { orders: ['id'] }, [nameA]: { orders: ['id'] } } },
    });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('RATE_LIMITED');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await counter(h, 'schema', `connection:${b}`)).toBeNull();
    expect(await counter(h, 'schema', 'organization:default')).toBe('1');
    // B's budget is whole: its discovery is let through (and times out without a worker)
    expect((await http(h, 'GET', `${PATH}/${b}/schema`)).status).toBe(504);
  });
});

describe('a discovery retried because the connection changed mid-job is charged once', () => {
  let h: Harness;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    h = await startApi({ RATE_LIMIT_PER_CONNECTION: '1', INTERACTIVE_TIMEOUT_MS: '30000' });
  });
  afterEach(async () => {
    await worker?.stop();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('GET /{id}/schema queued before a PATCH that redials answers 200 with one count taken', async () => {
    const id = await createConnection(h, { ...LOCAL_PG, schema: 'public' });
    const pending = http(h, 'GET', `${PATH}/${id}/schema`);
    // the discovery is charged and queued; no worker yet takes it
    await expect
      .poll(() => counter(h, 'schema', `connection:${id}`), { timeout: 10_000, interval: 20 })
      .toBe('1');
    const patched = await http(h, 'PATCH', `${PATH}/${id}`, { body: { password: 'changed-mid-discovery' } });
    expect(patched.status).toBe(200);
    // the worker finds the queued job stale (null), so the API discovers the connection as it is now
    worker = await startWorkerProcess(h.env);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, schema: 'public' });
    expect(await counter(h, 'schema', `connection:${id}`)).toBe('1');
  });
});
