import { randomBytes } from 'node:crypto';
import { RETRY_AFTER_SECONDS } from '@dbconn/shared';
import { type FakeMongoServer, startFakeMongo } from '@dbconn/shared/test-fixtures/mongo-wire';
import {
  type PostgresFixture,
  STORE_DATABASE_URL,
  startPostgres,
  startTcpProxy,
  type TcpProxy,
} from '@dbconn/worker/test-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeed, type Harness, http, type Reply, startApi } from './harness.js';

/**
 * A store that stops answering (frozen server, swallowed packets) must never hang a request: each
 * store call has a deadline (STORE_TIMEOUT_MS), the answer is 503 UNAVAILABLE with Retry-After, and
 * a client caught in the stall is destroyed, so the pool is whole again once the store answers.
 * Before the deadlines these requests waited for the store (frozen) or for ever (swallowed): the
 * awaits below would not return while the store is still stalled.
 */
const POOL_SIZE = 4;
const STALL_ENV = { STORE_TIMEOUT_MS: '1000', STORE_POOL_SIZE: String(POOL_SIZE), LOG_LEVEL: 'warn' };
const POLL = { timeout: 20_000, interval: 100 };

/** Requests enough to open every pooled client, so the stall catches idle clients, not just connects. */
async function fillPool(h: Harness, id: string) {
  const replies = await Promise.all(
    Array.from({ length: POOL_SIZE * 2 }, () => http(h, 'GET', `/v1/management/connections/${id}`)),
  );
  expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
}

/** More requests than the pool has clients, all at once, while the store is stalled. */
async function requestsDuringStall(h: Harness, id: string): Promise<Reply[]> {
  return Promise.all([
    ...Array.from({ length: POOL_SIZE * 2 }, () => http(h, 'GET', `/v1/management/connections/${id}`)),
    http(h, 'GET', '/v1/management/connections'),
    createSeed(h, { configName: `during-stall-${randomBytes(3).toString('hex')}` }),
  ]);
}

function expectUnavailable(replies: Reply[]) {
  for (const reply of replies) {
    expect(reply.status).toBe(503);
    expect(reply.body).toMatchObject({ code: 'UNAVAILABLE' });
    expect(reply.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
  }
}

/** Once the store answers: served again, and every client is free (more requests than the pool at once). */
async function expectRecovered(h: Harness, id: string) {
  await expect
    .poll(async () => (await http(h, 'GET', `/v1/management/connections/${id}`)).status, POLL)
    .toBe(200);
  const replies = await Promise.all(
    Array.from({ length: POOL_SIZE * 3 }, () => http(h, 'GET', `/v1/management/connections/${id}`)),
  );
  expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
  expect((await http(h, 'GET', '/ready')).status).toBe(200);
}

describe('PostgreSQL store frozen (SIGSTOP: processes stopped, TCP alive)', () => {
  let server: PostgresFixture;
  let h: Harness;
  let frozen: number[] = [];
  beforeAll(async () => {
    server = await startPostgres({ hba: ['host all all 127.0.0.1/32 trust'] });
    h = await startApi({
      ...STALL_ENV,
      STORE_URL: `postgres://postgres@127.0.0.1:${server.port}/postgres?schema=stall_${randomBytes(3).toString('hex')}`,
    });
  });
  afterAll(async () => {
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    await h?.close();
    await server?.stop();
  });

  it('answers 503 UNAVAILABLE while frozen, and serves with a whole pool after SIGCONT', async () => {
    const created = await createSeed(h);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await fillPool(h, id);

    frozen = await server.serverPids();
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    const [ready, replies] = await Promise.all([http(h, 'GET', '/ready'), requestsDuringStall(h, id)]);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ code: 'UNAVAILABLE', down: ['store'] });
    expectUnavailable(replies);
    // Still frozen here: every answer above came without the store.
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    frozen = [];

    await expectRecovered(h, id);
    // The clients destroyed during the stall are gone on the server too: no backend beyond the pool.
    const backends = async () =>
      Number(
        (
          await server.admin(
            `SELECT count(*) AS n FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND datname = 'postgres' AND pid <> pg_backend_pid()`,
          )
        ).rows[0]?.n,
      );
    await expect.poll(backends, POLL).toBeLessThanOrEqual(POOL_SIZE);
  });
});

describe('PostgreSQL store behind a network that swallows packets (sockets stay open)', () => {
  let proxy: TcpProxy;
  let h: Harness;
  beforeAll(async () => {
    const target = new URL(STORE_DATABASE_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    target.port = String(proxy.port);
    target.searchParams.set('schema', `stall_${randomBytes(3).toString('hex')}`);
    h = await startApi({ ...STALL_ENV, STORE_URL: target.toString() });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.stop();
  });

  it('answers 503 UNAVAILABLE while swallowed, and serves with a whole pool once packets flow', async () => {
    const created = await createSeed(h);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await fillPool(h, id);

    proxy.swallow();
    expectUnavailable(await requestsDuringStall(h, id));
    proxy.restore();

    await expectRecovered(h, id);
    // The clients caught in the stall were destroyed, not kept: open sockets fit in the pool.
    await expect.poll(() => proxy.open(), POLL).toBeLessThanOrEqual(POOL_SIZE);
  });
});

describe('MongoDB store that accepts and never answers (a fake mongod behind a swallowing proxy)', () => {
  let mongod: FakeMongoServer;
  let proxy: TcpProxy;
  let h: Harness;
  beforeAll(async () => {
    mongod = await startFakeMongo();
    proxy = await startTcpProxy({ host: mongod.host, port: mongod.port });
    h = await startApi({
      ...STALL_ENV,
      STORE_URL: `mongodb://127.0.0.1:${proxy.port}/stall_${randomBytes(3).toString('hex')}?heartbeatFrequencyMS=500`,
    });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.stop();
    await mongod?.stop();
  });

  it('answers 503 UNAVAILABLE while silent, and serves again once it answers', async () => {
    const created = await createSeed(h);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await fillPool(h, id);

    proxy.swallow();
    expectUnavailable(await requestsDuringStall(h, id));
    proxy.restore();

    await expectRecovered(h, id);
  });
});
