import { randomBytes } from 'node:crypto';
import { STORE_DATABASE_URL, startTcpProxy, type TcpProxy } from '@dbconn/worker/test-fixtures';
import { TRPCClientError } from '@trpc/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../examples/typed-client.js';
import { type Harness, http, seedBody, startApi } from './harness.js';

const PATH = '/v1/management/connections';

/** A create through the REST door with an Idempotency-Key. */
const createWithKey = (
  h: Pick<Harness, 'url'>,
  key: string,
  overrides: Record<string, unknown> = {},
  product = 'my-product',
) =>
  http(h, 'POST', PATH, {
    body: { ...seedBody(), ...overrides },
    headers: { 'x-product-name': product, 'idempotency-key': key },
  });

const trpcCode = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TRPCClientError) return { code: err.data?.code, errors: err.data?.errors };
    throw err;
  }
  throw new Error('expected the call to fail');
};

describe('Idempotency-Key on create', () => {
  let h: Harness;
  beforeAll(async () => {
    // A create held on a table lock must not meet the store deadline while the test looks at it.
    h = await startApi({ STORE_TIMEOUT_MS: '30000' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the same key and body answer the first 201 and body again; one connection exists', async () => {
    const first = await createWithKey(h, 'key-same-1', { configName: 'idem-same' });
    expect(first.status).toBe(201);
    const again = await createWithKey(h, 'key-same-1', { configName: 'idem-same' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    // Key order is not part of the body's identity.
    const reordered = Object.fromEntries(
      Object.entries({ ...seedBody(), configName: 'idem-same' }).reverse(),
    );
    const third = await http(h, 'POST', PATH, {
      body: reordered,
      headers: { 'x-product-name': 'my-product', 'idempotency-key': 'key-same-1' },
    });
    expect(third.status).toBe(201);
    expect(third.body.id).toBe(first.body.id);
    const page = await http(h, 'GET', `${PATH}?limit=100`);
    expect(page.body.items.filter((c: { configName: string }) => c.configName === 'idem-same')).toHaveLength(
      1,
    );
  });

  it('the same key with another body (or another product) is 422 IDEMPOTENCY_KEY_REUSED', async () => {
    expect((await createWithKey(h, 'key-reused', { configName: 'idem-reused' })).status).toBe(201);
    const otherBody = await createWithKey(h, 'key-reused', { configName: 'idem-reused', port: 5433 });
    expect(otherBody.status).toBe(422);
    expect(otherBody.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    const otherPassword = await createWithKey(h, 'key-reused', {
      configName: 'idem-reused',
      password: 'another-password',
    });
    expect(otherPassword.status).toBe(422);
    const otherProduct = await createWithKey(h, 'key-reused', { configName: 'idem-reused' }, 'other-product');
    expect(otherProduct.status).toBe(422);
  });

  it('without a key, a second create of the same body is still 409 CONFIG_NAME_TAKEN', async () => {
    const body = { ...seedBody(), configName: 'idem-none' };
    const headers = { 'x-product-name': 'my-product' };
    expect((await http(h, 'POST', PATH, { body, headers })).status).toBe(201);
    const second = await http(h, 'POST', PATH, { body, headers });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'CONFIG_NAME_TAKEN' });
  });

  it('a refused create does not use the key up: the corrected retry creates', async () => {
    const refused = await createWithKey(h, 'key-refused', { configName: 'idem-same' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'CONFIG_NAME_TAKEN' });
    // Same body again: the store refuses again (the key did not record a refusal as the answer).
    expect((await createWithKey(h, 'key-refused', { configName: 'idem-same' })).status).toBe(409);
  });

  it('a key that is not 1–255 printable ASCII characters is 400 naming Idempotency-Key', async () => {
    for (const key of ['x'.repeat(256), 'tab\there', 'é-accent']) {
      const reply = await http(h, 'POST', PATH, {
        body: { ...seedBody(), configName: 'idem-bad-key' },
        headers: { 'x-product-name': 'my-product', 'idempotency-key': Buffer.from(key).toString('latin1') },
      });
      expect(reply.status).toBe(400);
      expect(reply.body.errors).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
    }
    expect((await createWithKey(h, 'x'.repeat(255), { configName: 'idem-long-key' })).status).toBe(201);
  });

  it('tRPC: idempotencyKey answers the first result again, shares keys with REST, and is validated', async () => {
    const api = connect(h.url);
    const { schema: _schema, ...base } = seedBody();
    const input = { ...base, configName: 'idem-trpc', productName: 'my-product', idempotencyKey: 'key-trpc' };
    const first = await api.connections.create.mutate(input);
    expect(await api.connections.create.mutate(input)).toEqual(first);
    expect(await trpcCode(api.connections.create.mutate({ ...input, port: 6543 }))).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    expect(await trpcCode(api.connections.create.mutate({ ...input, idempotencyKey: '' }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [expect.objectContaining({ field: 'idempotencyKey' })],
    });
    // The same create through the other door, with the same key: the same connection.
    const rest = await http(h, 'POST', PATH, {
      body: { ...base, configName: 'idem-trpc' },
      headers: { 'x-product-name': 'my-product', 'idempotency-key': 'key-trpc' },
    });
    expect(rest.status).toBe(201);
    expect(rest.body.id).toBe(first.id);
  });

  it('keys are per organization: another organization with the same key creates its own', async () => {
    const other = await startApi({
      QUEUE_PREFIX: h.env.QUEUE_PREFIX as string,
      STORE_URL: h.env.STORE_URL as string,
      DEFAULT_ORGANIZATION_ID: 'another-organization',
    });
    try {
      const mine = await createWithKey(h, 'key-org', { configName: 'idem-org' });
      const theirs = await createWithKey(other, 'key-org', { configName: 'idem-org' });
      expect(mine.status).toBe(201);
      expect(theirs.status).toBe(201);
      expect(theirs.body.id).not.toBe(mine.body.id);
    } finally {
      // Not other.close(): that would empty the queue and drop the schema this file still uses.
      await other.app.close();
      await other.queue.close();
      other.redis.disconnect();
      await other.store.close();
    }
  });

  it('a create still running with the key answers 409 IDEMPOTENCY_KEY_IN_PROGRESS with Retry-After', async () => {
    // The first create waits on a table lock that still lets reads through (EXCLUSIVE mode).
    const storeUrl = new URL(h.env.STORE_URL as string);
    const schema = storeUrl.searchParams.get('schema') as string;
    storeUrl.searchParams.delete('schema');
    const locker = new pg.Client({ connectionString: storeUrl.toString() });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".connections IN EXCLUSIVE MODE`);
      const first = createWithKey(h, 'key-running', { configName: 'idem-running' });
      const waiting = async () =>
        Number(
          (
            await locker.query(
              `SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND relation = '"${schema}".connections'::regclass`,
            )
          ).rows[0]?.n,
        );
      await expect.poll(waiting, { timeout: 20_000, interval: 50 }).toBe(1);

      const second = await createWithKey(h, 'key-running', { configName: 'idem-running' });
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);

      await locker.query('COMMIT');
      const answered = await first;
      expect(answered.status).toBe(201);
      const retried = await createWithKey(h, 'key-running', { configName: 'idem-running' });
      expect(retried.status).toBe(201);
      expect(retried.body).toEqual(answered.body);
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
    }
  });

  it('Redis holds nothing of the secrets sent with a key', async () => {
    await createWithKey(h, 'key-secret', { configName: 'idem-secret', password: 'idem-Secret-Pa55' });
    expect(await h.redisDump()).not.toContain('idem-Secret-Pa55');
  });
});

describe('Idempotency-Key on a create the store did not answer', () => {
  let h: Harness;
  beforeAll(async () => {
    // The claim's lease is four store deadlines (8 s): far longer than the retry below takes.
    h = await startApi({ STORE_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a create the store did not answer in time (nothing stored) can be retried at once: 201, one connection', async () => {
    const storeUrl = new URL(h.env.STORE_URL as string);
    const schema = storeUrl.searchParams.get('schema') as string;
    storeUrl.searchParams.delete('schema');
    const locker = new pg.Client({ connectionString: storeUrl.toString() });
    await locker.connect();
    try {
      // The insert waits on the lock past the store deadline: the store did not answer in time.
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".connections IN EXCLUSIVE MODE`);
      const unanswered = await createWithKey(h, 'key-stalled', { configName: 'idem-stalled' });
      expect(unanswered.status).toBe(503);
      expect(unanswered.body).toMatchObject({ code: 'UNAVAILABLE' });
      await locker.query('COMMIT');
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
    }

    const retried = await createWithKey(h, 'key-stalled', { configName: 'idem-stalled' });
    expect(retried.status).toBe(201);
    const again = await createWithKey(h, 'key-stalled', { configName: 'idem-stalled' });
    expect(again.body.id).toBe(retried.body.id);
    const page = await http(h, 'GET', `${PATH}?limit=100`);
    expect(
      page.body.items.filter((c: { configName: string }) => c.configName === 'idem-stalled'),
    ).toHaveLength(1);
  });
});

describe('Idempotency-Key on a create whose store answer was lost', () => {
  // The claim's lease is four store deadlines: 2 s.
  const STORE_TIMEOUT_MS = 500;
  let proxy: TcpProxy;
  let h: Harness;
  beforeAll(async () => {
    const target = new URL(STORE_DATABASE_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    target.port = String(proxy.port);
    target.searchParams.set('schema', `idem_${randomBytes(3).toString('hex')}`);
    h = await startApi({ STORE_URL: target.toString(), STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS) });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.stop();
  });

  it('a retry after the lease answers the connection the insert stored, not 409 CONFIG_NAME_TAKEN', async () => {
    // Pooled clients are open (a connect through the slow proxy would fail before any insert).
    expect((await createWithKey(h, 'key-warm', { configName: 'idem-warm' })).status).toBe(201);
    // The store commits the insert, but its answer arrives after the deadline: 503, stored anyway.
    proxy.setLatency(STORE_TIMEOUT_MS * 4);
    const unanswered = await createWithKey(h, 'key-lost-answer', { configName: 'idem-lost-answer' });
    const leaseOverAt = Date.now() + STORE_TIMEOUT_MS * 4;
    expect(unanswered.status).toBe(503);
    proxy.setLatency(0);
    const stored = async () =>
      (await http(h, 'GET', `${PATH}?limit=100`)).body.items?.filter(
        (c: { configName: string }) => c.configName === 'idem-lost-answer',
      );
    await expect.poll(async () => (await stored())?.length, { timeout: 20_000 }).toBe(1);

    // Waiting out the lease is waiting for time itself to pass, not for an event.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, leaseOverAt - Date.now())));
    const retried = await createWithKey(h, 'key-lost-answer', { configName: 'idem-lost-answer' });
    expect(retried.status).toBe(201);
    expect(retried.body.id).toBe((await stored())[0].id);
    expect(await stored()).toHaveLength(1);
  });
});
