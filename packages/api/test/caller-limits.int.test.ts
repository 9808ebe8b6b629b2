import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerKey } from '../src/context.js';
import { CONNECTIONS_PATH as P } from '../src/rest/connections.rest.js';
import { createSeed, type Harness, http, type Reply, startApi } from './harness.js';

/**
 * Issue 10, item 5: limits per caller, not per service. With auth off every request belongs to the
 * default organization, so the caller is told apart by its address: these tests send from two
 * loopback addresses (127.0.0.1 and 127.0.0.2 both reach a server listening on 127.0.0.1).
 */

/** A JSON request sent from a chosen local address. */
function from(
  localAddress: string,
  h: Harness,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const url = new URL(path, h.url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method,
        localAddress,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') headers.set(name, value);
          }
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON (the dashboard's page): keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the caller key', () => {
  it('tells subjects, organizations and addresses apart', () => {
    const keys = [
      callerKey({ organizationId: 'a', subject: 'alice', clientAddress: '10.0.0.1' }),
      callerKey({ organizationId: 'a', subject: 'bob', clientAddress: '10.0.0.1' }),
      callerKey({ organizationId: 'b', subject: 'alice', clientAddress: '10.0.0.1' }),
      callerKey({ organizationId: 'a', clientAddress: '10.0.0.1' }),
      callerKey({ organizationId: 'a', clientAddress: '10.0.0.2' }),
      callerKey({ organizationId: 'b', clientAddress: '10.0.0.1' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    // an authenticated subject keeps its budget whatever address it calls from
    expect(callerKey({ organizationId: 'a', subject: 'alice', clientAddress: '10.0.0.9' })).toBe(keys[0]);
  });
});

describe('test and schema budgets are per caller', () => {
  let h: Harness;
  beforeAll(async () => {
    // No worker: a request let through ends in 504 WORKER_TIMEOUT, a refused one in 429.
    h = await startApi({ RATE_LIMIT_PER_CALLER: '2', INTERACTIVE_TIMEOUT_MS: '300' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('one client using up its test budget leaves another its own', async () => {
    const ids = [
      (await createSeed(h, { configName: 'one' })).body.id,
      (await createSeed(h, { configName: 'two' })).body.id,
    ];
    const first: number[] = [];
    for (const id of ids) first.push((await from('127.0.0.1', h, 'POST', `${P}/${id}/test`)).status);
    expect(first).toEqual([504, 504]);
    const refused = await from('127.0.0.1', h, 'POST', `${P}/test`, { body: { id: ids[1] } });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', detail: expect.stringContaining('caller') });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // the other client is not refused for the first one's requests, on either door
    expect((await from('127.0.0.2', h, 'POST', `${P}/${ids[0]}/test`)).status).toBe(504);
    expect(
      (await from('127.0.0.2', h, 'POST', '/trpc/connections.test', { body: { id: ids[1] } })).status,
    ).toBe(504);
    expect(
      (await from('127.0.0.2', h, 'POST', '/trpc/connections.test', { body: { id: ids[1] } })).status,
    ).toBe(429);
  });
});

describe('a dial budget the API takes from Redis in leases (a max of 200 or more)', () => {
  let h: Harness;
  beforeAll(async () => {
    // 200 a window: leases of 2 units.
    h = await startApi({ RATE_LIMIT_DIALS_PER_ORGANIZATION: '200' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lets exactly the max through, concurrent creates included; a refused write gives its unit back', async () => {
    expect((await createSeed(h, { configName: 'lease-dup' })).status).toBe(201);
    expect((await createSeed(h, { configName: 'LEASE-DUP' })).status).toBe(409);
    const statuses: number[] = [];
    for (let batch = 0; batch < 7; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) => createSeed(h, { configName: `lease-${batch}-${i}` })),
      );
      statuses.push(...replies.map((r) => r.status));
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(199);
    expect(statuses.filter((s) => s === 429)).toHaveLength(11);
    expect(await h.rawRows()).toHaveLength(200);
  });
});

describe('creates and updates that dial are limited per organization', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi({ RATE_LIMIT_DIALS_PER_ORGANIZATION: '3' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const dump = async () => JSON.stringify(await h.rawRows());

  it('the create over the budget is 429 and stores nothing; a refused write gives its dial back', async () => {
    expect((await createSeed(h, { configName: 'dial-1' })).status).toBe(201);
    expect((await createSeed(h, { configName: 'dial-2' })).status).toBe(201);
    // a create that stores nothing (the name is taken) takes nothing from the budget
    expect((await createSeed(h, { configName: 'DIAL-1' })).status).toBe(409);
    const third = await createSeed(h, { configName: 'dial-3' });
    expect(third.status).toBe(201);

    const before = await dump();
    const refused = await createSeed(h, { configName: 'dial-4' });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', detail: expect.stringContaining('dial') });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const trpc = await http(h, 'POST', '/trpc/connections.create', {
      body: {
        configName: 'dial-5',
        type: 'POSTGRESQL',
        host: 'db.example.com',
        port: 5432,
        databaseName: 'd',
        userName: 'u',
        password: 'p',
      },
    });
    expect(trpc.status).toBe(429);
    expect(trpc.body.error.data.code).toBe('RATE_LIMITED');

    // an update that would dial is refused too; one that changes nothing dialled is not limited
    const id = third.body.id;
    const redial = await http(h, 'PATCH', `${P}/${id}`, {
      body: { host: 'other.example.com', password: 'sent-again' },
    });
    expect(redial.status).toBe(429);
    expect(await dump()).toBe(before);
    const rename = await http(h, 'PATCH', `${P}/${id}`, {
      body: { configName: 'renamed', metadata: { a: 'b' } },
    });
    expect(rename.status).toBe(200);
    expect(rename.body.status).toBe(third.body.status);
  });
});

describe('wrong dashboard credentials are slowed down per address', () => {
  let h: Harness;
  const basic = (user: string, password: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });
  beforeAll(async () => {
    h = await startApi({
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'the-right-password',
      ADMIN_AUTH_FAILURES_PER_WINDOW: '3',
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('after the allowed failures the address gets 429, even with the right password; others do not', async () => {
    // no credentials at all (a browser's first request) is a challenge, not a guess
    for (let i = 0; i < 4; i++) expect((await from('127.0.0.1', h, 'GET', '/admin/queues')).status).toBe(401);
    const guesses: number[] = [];
    for (let i = 0; i < 4; i++) {
      guesses.push(
        (await from('127.0.0.1', h, 'GET', '/admin/queues', { headers: basic('ops', `guess-${i}`) })).status,
      );
    }
    expect(guesses).toEqual([401, 401, 401, 429]);
    const locked = await from('127.0.0.1', h, 'GET', '/admin/queues', {
      headers: basic('ops', 'the-right-password'),
    });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(locked.body.code).toBe('RATE_LIMITED');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // another address is not locked out by the first one's guesses
    const other = await from('127.0.0.2', h, 'GET', '/admin/queues', {
      headers: basic('ops', 'the-right-password'),
    });
    expect(other.status).toBe(200);
  });
});
