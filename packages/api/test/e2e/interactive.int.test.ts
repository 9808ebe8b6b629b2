import { connectionEventsChannel, RETRY_AFTER_SECONDS, testSettingsKey } from '@dbconn/shared';
import { type PostgresFixture, startPostgres } from '@dbconn/worker/test-fixtures';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, waitUntilSettled } from '../../examples/typed-client.js';
import { type Harness, http, startApi } from '../harness.js';
import { createConnection, LOCAL_PG, PATH, waitForStatus } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/** How many watch streams listen for a connection's status changes (subscribers of its channel). */
async function watchers(h: Harness, id: string): Promise<number> {
  const [, count] = (await h.redis.pubsub(
    'NUMSUB',
    connectionEventsChannel(h.env.QUEUE_PREFIX as string, id),
  )) as [string, number];
  return Number(count);
}

describe('test now, try before save, and watch — through the API and a real worker', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let scram: PostgresFixture;
  let api: ReturnType<typeof connect>;

  beforeAll(async () => {
    h = await startApi({ RATE_LIMIT_PER_CONNECTION: '3', VERIFY_ATTEMPTS: '1' });
    worker = await startWorkerProcess(h.env);
    api = connect(h.url);
    // A private PostgreSQL that checks passwords (the shared one trusts every local login).
    scram = await startPostgres({ hba: ['host all all 127.0.0.1/32 scram-sha-256'] });
    await scram.admin(`CREATE ROLE rotating LOGIN PASSWORD 'old-password-1'`);
  });
  afterAll(async () => {
    await worker?.stop();
    await scram?.stop();
    await h?.close();
  });

  it('POST /{id}/test verifies now, answers the stages, and records the result', async () => {
    const id = await createConnection(h, LOCAL_PG);
    await waitForStatus(h, id);
    const res = await http(h, 'POST', `${PATH}/${id}/test`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', message: expect.any(String) });
    expect(res.body.stages.map((s: { name: string }) => s.name)).toEqual([
      'dns',
      'tcp',
      'tls',
      'auth',
      'database',
      'schema',
    ]);
    expect(res.body.server.version).toMatch(/PostgreSQL/);
    const after = await http(h, 'GET', `${PATH}/${id}`);
    expect(after.body.status).toBe('active');
    expect(after.body.verification.checkedAt).toBe(res.body.checkedAt);
  });

  it('a failing test answers 200 failure with the stage and code, and marks the connection failed', async () => {
    const id = await createConnection(h, { ...LOCAL_PG, databaseName: 'no_such_db_e2e' });
    await waitForStatus(h, id);
    const res = await http(h, 'POST', `${PATH}/${id}/test`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'failure',
      error: { stage: 'database', code: 'DATABASE_NOT_FOUND' },
    });
    expect(res.body.message).toBe(res.body.error.message);
    expect((await http(h, 'GET', `${PATH}/${id}`)).body.status).toBe('failed');
  });

  it('tests are rate limited per connection: 429 with Retry-After', async () => {
    const id = await createConnection(h, LOCAL_PG);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof http>> | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await http(h, 'POST', `${PATH}/${id}/test`);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(limited?.body.code).toBe('RATE_LIMITED');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await http(h, 'POST', `${PATH}/01890000-0000-7000-8000-000000000000/test`)).status).toBe(404);
  });

  it('POST /test tries unsaved settings; nothing is stored; bad bodies answer 400', async () => {
    const before = (await h.rawRows()).length;
    const ok = await http(h, 'POST', `${PATH}/test`, { body: { ...LOCAL_PG, configName: 'just-trying' } });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('success');
    const bad = await http(h, 'POST', `${PATH}/test`, {
      body: { ...LOCAL_PG, port: 1, host: 'nowhere.invalid' },
    });
    expect(bad.body).toMatchObject({ status: 'failure', error: { stage: 'dns', code: 'DNS_NOT_FOUND' } });
    expect((await h.rawRows()).length).toBe(before);
    const missing = await http(h, 'POST', `${PATH}/test`, { body: { host: 'db.example.com' } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(
      ['databaseName', 'password', 'port', 'type', 'userName'].sort(),
    );
    // the sealed settings never linger in Redis
    expect(await h.redis.keys(testSettingsKey(h.env.QUEUE_PREFIX as string, '*'))).toEqual([]);
  });

  it('rotating a password: try the new one (fails), change it on the server (passes), then PATCH → active', async () => {
    const rotating = {
      ...LOCAL_PG,
      port: scram.port,
      databaseName: 'postgres',
      userName: 'rotating',
      password: 'old-password-1',
    };
    const id = await createConnection(h, rotating);
    expect((await waitForStatus(h, id)).status).toBe('active');

    const early = await http(h, 'POST', `${PATH}/test`, { body: { id, password: 'new-password-2' } });
    expect(early.body).toMatchObject({ status: 'failure', error: { stage: 'auth', code: 'AUTH_FAILED' } });
    expect(JSON.stringify(early.body)).not.toContain('new-password-2');

    await scram.admin(`ALTER ROLE rotating PASSWORD 'new-password-2'`);
    const ready = await http(h, 'POST', `${PATH}/test`, { body: { id, password: 'new-password-2' } });
    expect(ready.body.status).toBe('success');
    // the trial changed nothing stored: the connection still has the old password (now wrong)
    expect((await http(h, 'GET', `${PATH}/${id}`)).body.version).toBe(1);

    const patched = await http(h, 'PATCH', `${PATH}/${id}`, {
      body: { password: 'new-password-2' },
      headers: { 'if-match': '1' },
    });
    expect(patched.body).toMatchObject({ status: 'pending', version: 2 });
    const settled = await waitForStatus(h, id);
    expect(settled.status).toBe('active');
    expect(h.logs.join('\n')).not.toContain('new-password-2');
    expect(worker.output.join('')).not.toContain('new-password-2');
  });

  it('connections.watch on a settled connection emits it once and ends; unknown ids fail with NOT_FOUND', async () => {
    const created = await api.connections.create.mutate({
      ...LOCAL_PG,
      type: 'POSTGRESQL',
      configName: `watch2-${Date.now()}`,
    });
    await waitForStatus(h, created.id);
    const history = await waitUntilSettled(api, created.id);
    expect(history.map((c) => c.status)).toEqual(['active']);
    await expect(waitUntilSettled(api, '01890000-0000-7000-8000-000000000000')).rejects.toBeInstanceOf(
      TRPCClientError,
    );
  });

  it('tRPC test and testSettings answer like REST', async () => {
    const created = await api.connections.create.mutate({
      ...LOCAL_PG,
      type: 'POSTGRESQL',
      configName: `trpc-test-${Date.now()}`,
    });
    const tested = await api.connections.test.mutate({ id: created.id });
    expect(tested.status).toBe('success');
    const trial = await api.connections.testSettings.mutate({
      ...LOCAL_PG,
      type: 'POSTGRESQL',
      databaseName: 'nope_db',
    });
    expect(trial).toMatchObject({ status: 'failure', error: { code: 'DATABASE_NOT_FOUND' } });
  });
});

describe('connections.watch from create to active', () => {
  let h: Harness;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  it('a subscription opened right after create receives pending, verifying, active in order, then ends', async () => {
    const api = connect(h.url);
    const created = await api.connections.create.mutate({
      ...LOCAL_PG,
      type: 'POSTGRESQL',
      configName: `watch-${Date.now()}`,
    });
    const settled = waitUntilSettled(api, created.id);
    // The worker starts only once the stream listens, so it is open before anything happens.
    await expect.poll(() => watchers(h, created.id)).toBe(1);
    worker = await startWorkerProcess(h.env);
    const history = await settled;
    expect(history.map((c) => c.status)).toEqual(['pending', 'verifying', 'active']);
    expect(history.at(-1)?.verification?.outcome).toBe('passed');
    expect(history.at(-1)?.lastVerifiedAt).toBeDefined();
  });
});

describe('interactive requests without a worker', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi({ INTERACTIVE_TIMEOUT_MS: '300' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answer 504 WORKER_TIMEOUT when no worker takes the job in time, and drop the job', async () => {
    const id = await createConnection(h, LOCAL_PG);
    const res = await http(h, 'POST', `${PATH}/${id}/test`);
    expect(res.status).toBe(504);
    expect(res.body.code).toBe('WORKER_TIMEOUT');
    expect(res.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));

    // The tRPC door sends the same header, not only `retryAfter` in the error's data.
    const viaTrpc = await http(h, 'POST', '/trpc/connections.test', { body: { id } });
    expect(viaTrpc.status).toBe(504);
    expect(viaTrpc.body.error.data).toMatchObject({
      code: 'WORKER_TIMEOUT',
      retryAfter: RETRY_AFTER_SECONDS,
    });
    expect(viaTrpc.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
  });
});

describe('watch of a connection deleted while it is pending (no worker)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApi();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('ends with NOT_FOUND, not as if the connection had settled', async () => {
    const id = await createConnection(h, LOCAL_PG);
    const watching = waitUntilSettled(connect(h.url), id);
    await expect.poll(() => watchers(h, id)).toBe(1);
    expect((await http(h, 'DELETE', `${PATH}/${id}`)).status).toBe(204);
    const outcome = await watching.then(
      (history) => ({ history }),
      (error: unknown) => ({ error }),
    );
    expect('error' in outcome && outcome.error).toBeInstanceOf(TRPCClientError);
    expect((outcome as { error: TRPCClientError<never> }).error.data).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('a worker job that fails', () => {
  let h: Harness;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    h = await startApi({ INTERACTIVE_TIMEOUT_MS: '20000' });
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  it('answers 500 INTERNAL with a generic text, and no detail of the failure in the answer', async () => {
    const pending = http(h, 'POST', `${PATH}/test`, { body: { ...LOCAL_PG } });
    // The settings wait sealed in Redis for a worker; take them away before one starts.
    const waiting = () => h.redis.keys(testSettingsKey(h.env.QUEUE_PREFIX as string, '*'));
    await expect.poll(waiting, { timeout: 5_000, interval: 50 }).toHaveLength(1);
    await h.redis.del(...(await waiting()));
    worker = await startWorkerProcess(h.env);

    const res = await pending;
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ code: 'INTERNAL' });
    expect(res.body.detail).not.toContain('expired');
  });
});
