import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { REST_OPERATIONS } from '../../src/auth/operations.js';
import { registeredRoutes } from '../../src/ops/index.js';
import { type Harness, http, seedBody, startApi } from '../harness.js';
import {
  AUDIENCE,
  bearer,
  type FakeAccessManager,
  ISSUER,
  makeKey,
  type SigningKey,
  sign,
  startFakeAccessManager,
  unsignedToken,
} from './fixtures.js';

const BASE = '/v1/management/connections';

/**
 * Access Manager mode with local verification (docs/contract.md §8): every call is verified here
 * first, then asked of the (fake, loopback) Access Manager with the caller's Authorization header.
 */
describe('access control with the Access Manager', () => {
  let h: Harness;
  let am: FakeAccessManager;
  let key: SigningKey;
  let token: string;

  beforeAll(async () => {
    am = await startFakeAccessManager(2_000);
    key = await makeKey('RS256');
    h = await startApi({
      PLUGIN_AUTH_ENABLED: 'true',
      PLUGIN_AUTH_ADDRESS: am.url,
      AUTH_TIMEOUT_MS: '300',
      AUTH_JWT_VERIFY_CERT: key.pem,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      INTERACTIVE_TIMEOUT_MS: '100',
    });
    token = await sign(key);
  });
  afterAll(async () => {
    await h?.close();
    await am?.close();
  });
  beforeEach(() => {
    am.behave('allow');
    am.decide(undefined);
    am.asked.length = 0;
  });

  const authed = (extra: Record<string, string> = {}) => ({ ...bearer(token), ...extra });

  it('answers 401 without a token, with a Bearer challenge, and asks nobody', async () => {
    const res = await http(h, 'GET', BASE);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    const basic = await http(h, 'GET', BASE, { headers: { authorization: 'Basic YTpi' } });
    expect(basic.status).toBe(401);
    expect(am.asked).toEqual([]);
  });

  it('creates with the seed body and a token; the Access Manager is asked with the caller header, sub <owner>/<sub> and action post', async () => {
    const res = await http(h, 'POST', BASE, {
      body: seedBody(),
      headers: authed({ 'x-product-name': 'my-product' }),
    });
    expect(res.status).toBe(201);
    expect(am.asked).toEqual([
      {
        path: '/v1/authorize',
        method: 'POST',
        authorization: `Bearer ${token}`,
        body: { sub: 'acme/alice', resource: 'connections', action: 'post' },
      },
    ]);
  });

  it('sends the sub claim alone for a token whose type is not normal-user', async () => {
    const service = await sign(key, {
      claims: { sub: 'report-builder', type: 'application', owner: 'acme' },
    });
    const res = await http(h, 'GET', BASE, { headers: bearer(service) });
    expect(res.status).toBe(200);
    expect(am.asked.map((q) => q.body.sub)).toEqual(['report-builder']);
  });

  it('asks post, get, patch or delete for each REST route', async () => {
    const created = await http(h, 'POST', BASE, {
      body: { ...seedBody(), configName: 'actions-rest' },
      headers: authed({ 'x-product-name': 'my-product' }),
    });
    const id = created.body.id as string;
    am.asked.length = 0;
    const calls: [string, string, Record<string, unknown>?][] = [
      ['GET', BASE],
      ['GET', `${BASE}/${id}`],
      ['GET', `${BASE}/unassigned`],
      ['GET', `${BASE}/${id}/schema`],
      ['PATCH', `${BASE}/${id}`, { body: { metadata: { team: 'x' } } }],
      ['POST', `${BASE}/${id}/test`],
      ['POST', `${BASE}/test`, { body: { id, password: 'new-secret' } }],
      ['POST', `${BASE}/validate-schema`, { body: { mappedFields: { 'actions-rest': { t: ['a'] } } } }],
      ['POST', `${BASE}/${id}/assign`, { headers: { 'x-product-name': 'other' } }],
      ['DELETE', `${BASE}/${id}`],
    ];
    for (const [method, path, options] of calls) {
      const res = await http(h, method, path, {
        ...(options?.body ? { body: options.body } : {}),
        headers: authed((options?.headers as Record<string, string>) ?? {}),
      });
      // Whatever the operation answers (a 504 with no worker here), it was not refused.
      expect([401, 403, 503], `${method} ${path}`).not.toContain(res.status);
    }
    expect(am.asked.map((q) => q.body.action)).toEqual([
      'get',
      'get',
      'get',
      'get',
      'patch',
      'post',
      'post',
      'post',
      'post',
      'delete',
    ]);
    expect(new Set(am.asked.map((q) => q.body.resource))).toEqual(new Set(['connections']));
  });

  it('asks the same actions for the tRPC procedures, the watch and trial subscriptions included', async () => {
    const api = connect(h.url, { token });
    const created = await api.connections.create.mutate({ ...seedBody(), configName: 'actions-trpc' });
    await api.connections.get.query({ id: created.id });
    await api.connections.list.query({});
    await api.connections.listUnassigned.query({});
    await api.connections.update.mutate({ id: created.id, metadata: { a: 'b' } });
    await new Promise<void>((resolve, reject) => {
      const subscription = api.connections.watch.subscribe(
        { id: created.id },
        {
          onData: () => {
            subscription.unsubscribe();
            resolve();
          },
          onError: reject,
        },
      );
    });
    await api.connections.assign.mutate({ id: created.id, productName: 'p' });
    await api.connections.delete.mutate({ id: created.id });
    // A live trial: started (nothing dialled yet), then watched under an id that is not its own.
    await api.connections.startTrial.mutate({
      type: 'POSTGRESQL',
      host: 'db.example.com',
      port: 5432,
      databaseName: 'd',
      userName: 'u',
      password: 'p',
    });
    const watched = await new Promise<unknown>((resolve) => {
      const subscription = api.connections.watchTrial.subscribe(
        { trialId: '0b9c2f4e-5d7a-4c1e-9f3b-2a6d8e1c4b70' },
        {
          onData: resolve,
          onError: (error) => {
            subscription.unsubscribe();
            resolve(error.data?.code);
          },
        },
      );
    });
    expect(watched).toBe('NOT_FOUND');
    expect(am.asked.map((q) => q.body.action)).toEqual([
      'post',
      'get',
      'get',
      'get',
      'patch',
      'get',
      'post',
      'delete',
      'post',
      'post',
    ]);
    expect(new Set(am.asked.map((q) => q.authorization))).toEqual(new Set([`Bearer ${token}`]));
  });

  it.each([
    ['deny', 403, 'FORBIDDEN'],
    ['status-403', 403, 'FORBIDDEN'],
    ['status-401', 401, 'UNAUTHENTICATED'],
  ] as const)(
    'answers %s from the Access Manager with %i %s, and writes nothing',
    async (behaviour, status, code) => {
      const before = await h.rawRows();
      am.behave(behaviour);
      const res = await http(h, 'POST', BASE, {
        body: { ...seedBody(), configName: `refused-${behaviour}` },
        headers: authed({ 'x-product-name': 'my-product' }),
      });
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ status, code });
      if (status === 401) expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(await h.rawRows()).toEqual(before);
    },
  );

  it.each(['status-500', 'slow', 'redirect', 'garbage', 'no-decision'] as const)(
    'fails closed when the Access Manager answers %s: 503 AUTH_UNAVAILABLE with Retry-After, nothing written',
    async (behaviour) => {
      const before = await h.rawRows();
      am.behave(behaviour);
      const res = await http(h, 'POST', BASE, {
        body: { ...seedBody(), configName: `closed-${behaviour}` },
        headers: authed({ 'x-product-name': 'my-product' }),
      });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 503, code: 'AUTH_UNAVAILABLE' });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(JSON.stringify(res.body)).not.toContain(token);
      expect(await h.rawRows()).toEqual(before);
      // The redirect was not followed: the trap it pointed at never saw the caller's token.
      expect(am.trapped()).toBe(0);
    },
  );

  it('answers the same codes through tRPC, with Retry-After on 503', async () => {
    const api = connect(h.url, { token });
    const codeOf = async (call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (err) {
        if (err instanceof TRPCClientError) return [err.data?.code, err.data?.httpStatus];
        throw err;
      }
      return ['ok'];
    };
    am.behave('deny');
    expect(await codeOf(() => api.connections.list.query({}))).toEqual(['FORBIDDEN', 403]);
    am.behave('status-500');
    expect(await codeOf(() => api.connections.list.query({}))).toEqual(['AUTH_UNAVAILABLE', 503]);
    const raw = await fetch(`${h.url}/trpc/connections.list`, { headers: bearer(token) });
    expect(raw.status).toBe(503);
    expect(raw.headers.get('retry-after')).toBe('5');
    am.behave('allow');
    expect(await codeOf(() => connect(h.url).connections.list.query({}))).toEqual(['UNAUTHENTICATED', 401]);
  });

  it('refuses forged, expired, unsigned, wrong-issuer and wrong-audience tokens with 401 invalid_token, never asking the Access Manager', async () => {
    const other = await makeKey('RS256');
    const bad = {
      forged: await sign(other),
      expired: await sign(key, { expiresIn: -3600 }),
      'not yet valid': await sign(key, { notBefore: 3600 }),
      'alg none': unsignedToken(),
      'wrong issuer': await sign(key, { issuer: 'https://someone-else.example' }),
      'wrong audience': await sign(key, { audience: 'another-service' }),
      'no expiry': await sign(key, { noExpiry: true }),
      tampered: `${token.slice(0, -6)}AAAAAA`,
      garbage: 'not-a-jwt',
    };
    for (const [name, badToken] of Object.entries(bad)) {
      const res = await http(h, 'POST', BASE, {
        body: { ...seedBody(), configName: `bad-${name.replace(/ /g, '-')}` },
        headers: { ...bearer(badToken), 'x-product-name': 'my-product' },
      });
      expect(res.status, name).toBe(401);
      expect(res.body.code, name).toBe('UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate'), name).toBe('Bearer error="invalid_token"');
    }
    expect(am.asked).toEqual([]);
    expect((await h.rawRows()).filter((row) => String(row.config_name).startsWith('bad-'))).toEqual([]);
  });

  it('has an action for every REST route the server registered, and no entry without a route', () => {
    const routes = registeredRoutes(h.app)
      .filter((route) => route.url.startsWith('/v1/'))
      .map((route) => `${route.method} ${route.url}`);
    expect(new Set(routes)).toEqual(new Set(Object.keys(REST_OPERATIONS)));
  });

  it('leaves /health and /ready open', async () => {
    expect((await http(h, 'GET', '/health')).status).toBe(200);
    expect((await http(h, 'GET', '/ready')).status).toBe(200);
    expect(am.asked).toEqual([]);
  });

  it('records the subject, never the token, as createdBy and updatedBy through both doors', async () => {
    const created = await http(h, 'POST', BASE, {
      body: { ...seedBody(), configName: 'who-did-it' },
      headers: authed({ 'x-product-name': 'my-product' }),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ createdBy: 'acme/alice', updatedBy: 'acme/alice' });
    const id = created.body.id as string;

    const service = await sign(key, { claims: { sub: 'report-builder', type: 'application' } });
    const updated = await connect(h.url, { token: service }).connections.update.mutate({
      id,
      metadata: { team: 'platform' },
    });
    expect(updated).toMatchObject({ createdBy: 'acme/alice', updatedBy: 'report-builder' });

    const unassigned = await connect(h.url, { token }).connections.create.mutate({
      ...seedBody(),
      configName: 'who-assigned-it',
    });
    const assigned = await http(h, 'POST', `${BASE}/${unassigned.id}/assign`, {
      headers: { ...bearer(service), 'x-product-name': 'my-product' },
    });
    expect(assigned.body).toMatchObject({ createdBy: 'acme/alice', updatedBy: 'report-builder' });

    const read = await http(h, 'GET', `${BASE}/${id}`, { headers: authed() });
    expect(read.body).toMatchObject({ createdBy: 'acme/alice', updatedBy: 'report-builder' });
    const rows = (await h.rawRows()).filter((row) => row.id === id || row.id === unassigned.id);
    expect(rows.map((row) => [row.created_by, row.updated_by])).toEqual([
      ['acme/alice', 'report-builder'],
      ['acme/alice', 'report-builder'],
    ]);
    const stored = JSON.stringify(await h.rawRows());
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(service);
  });

  it('never writes the token to the logs; the request lines carry the subject', async () => {
    await http(h, 'GET', BASE, { headers: authed() });
    const logs = h.logs.join('\n');
    expect(logs).not.toContain(token);
    expect(
      h.logs.some((line) => line.includes('"subject":"acme/alice"') && line.includes('request completed')),
    ).toBe(true);
  });
});

describe('Access Manager decision cache', () => {
  let h: Harness;
  let am: FakeAccessManager;

  beforeAll(async () => {
    am = await startFakeAccessManager();
    // Access Manager only: the token is checked there, read here for sub and tenant.
    h = await startApi({
      PLUGIN_AUTH_ENABLED: 'true',
      PLUGIN_AUTH_ADDRESS: am.url,
      AUTH_CACHE_TTL_SECONDS: '300',
      METRICS_TOKEN: 'metrics-token-0123456789',
    });
  });
  afterAll(async () => {
    await h?.close();
    await am?.close();
  });

  it('asks once per token and action while the decision is fresh', async () => {
    const key = await makeKey('ES256');
    const first = await sign(key, { claims: { sub: 'bob' } });
    const second = await sign(key, { claims: { sub: 'carol' } });
    for (let i = 0; i < 3; i++)
      expect((await http(h, 'GET', BASE, { headers: bearer(first) })).status).toBe(200);
    expect(am.asked).toHaveLength(1);
    expect(
      (await http(h, 'DELETE', `${BASE}/019ac9a4-53c1-7c4e-9a43-2f3c5d7a1b90`, { headers: bearer(first) }))
        .status,
    ).toBe(404);
    expect((await http(h, 'GET', BASE, { headers: bearer(second) })).status).toBe(200);
    expect(am.asked.map((q) => [q.body.sub, q.body.action])).toEqual([
      ['acme/bob', 'get'],
      ['acme/bob', 'delete'],
      ['acme/carol', 'get'],
    ]);
  });

  it('refuses an unsigned token without asking, even with no key configured here', async () => {
    am.asked.length = 0;
    const res = await http(h, 'GET', BASE, { headers: bearer(unsignedToken()) });
    expect(res.status).toBe(401);
    expect(am.asked).toEqual([]);
  });

  it('puts /metrics behind METRICS_TOKEN; /health, /ready, /openapi.json and /docs stay open', async () => {
    am.asked.length = 0;
    const none = await http(h, 'GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('UNAUTHENTICATED');
    const wrong = await http(h, 'GET', '/metrics', { headers: bearer('metrics-token-0123456789x') });
    expect(wrong.status).toBe(401);
    const scrape = await fetch(`${h.url}/metrics`, { headers: bearer('metrics-token-0123456789') });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('http_request_duration_seconds');
    for (const path of ['/health', '/ready', '/openapi.json', '/docs']) {
      expect((await fetch(`${h.url}${path}`)).status, path).toBe(200);
    }
    expect(am.asked).toEqual([]);
  });
});
