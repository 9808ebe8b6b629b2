import { randomBytes } from 'node:crypto';
import { createRedis, RETRY_AFTER_SECONDS } from '@dbconn/shared';
import {
  ensureStoreDatabase,
  type RedisFixture,
  STORE_DATABASE_URL,
  startRedis,
  startTcpProxy,
  type TcpProxy,
} from '@dbconn/worker/test-fixtures';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { http, REDIS_URL } from '../harness.js';
import { type ApiProcess, startApiProcess } from './api-process.js';
import { LOCAL_PG, PATH } from './helpers.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';

/**
 * Issue 12: an API or a worker started while its store is down used to exit at once, so after a
 * crash during a store outage a supervisor restarted it into the same exit again and again. Both
 * real processes start here with STORE_URL pointing at a loopback proxy to the real PostgreSQL
 * that refuses every connection at first: they must stay up, answer /health, say on /ready that
 * the store is awaited, and serve once the proxy forwards.
 */
const POLL = { timeout: 30_000, interval: 100 };
/** In STORE_URL: trust auth ignores it, and it must appear in no output of either process. */
const STORE_PASSWORD = 'startup-store-secret-9f2c';

interface Setup {
  env: Record<string, string>;
  schema: string;
  prefix: string;
}

function setupEnv(proxy: TcpProxy, extra: Record<string, string> = {}): Setup {
  const suffix = randomBytes(4).toString('hex');
  const schema = `startup_${suffix}`;
  const prefix = `dbconn_startup_${suffix}`;
  const store = new URL(STORE_DATABASE_URL);
  store.password = STORE_PASSWORD;
  store.port = String(proxy.port);
  store.searchParams.set('schema', schema);
  return {
    schema,
    prefix,
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      STORE_URL: store.toString(),
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      WORKER_HEALTH_PORT: '0',
      WORKER_NICE: '0',
      ...extra,
    },
  };
}

async function dropSetup(setup: Setup): Promise<void> {
  const admin = new pg.Client({ connectionString: STORE_DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${setup.schema}" CASCADE`);
  await admin.end();
  const redis = createRedis(REDIS_URL, { blocking: true });
  for await (const keys of redis.scanStream({ match: `${setup.prefix}:*`, count: 500 }) as AsyncIterable<
    string[]
  >) {
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
}

/** The worker's /ready, once its operations port is logged (the first thing it does). */
async function workerReady(worker: WorkerProcess) {
  await expect.poll(() => worker.output.join(''), POLL).toContain('operations server listening');
  return http({ url: `http://127.0.0.1:${worker.opsPort()}` }, 'GET', '/ready');
}

describe('API and worker started while the store refuses connections', () => {
  let proxy: TcpProxy;
  let setup: Setup;
  let api: ApiProcess | undefined;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    await ensureStoreDatabase();
    const target = new URL(STORE_DATABASE_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    proxy.refuse();
    // A store call's deadline above the fixed 2 s /ready bound this replaced (see the latency step).
    setup = setupEnv(proxy, { STORE_TIMEOUT_MS: '8000' });
  });
  afterAll(async () => {
    await worker?.kill();
    await api?.kill();
    await proxy?.stop();
    if (setup) await dropSetup(setup);
  });

  it('stay up, say the store is awaited, and serve and verify once it answers', {
    timeout: 120_000,
  }, async () => {
    worker = spawnWorker(setup.env);
    // Resolves once /health answers: before the fix the API exited instead.
    api = await startApiProcess(setup.env);

    // Redis is up: only the store is awaited (attempts keep failing meanwhile).
    await expect
      .poll(async () => (await http(api as ApiProcess, 'GET', '/ready')).body?.down, POLL)
      .toEqual(['store']);
    const apiReady = await http(api, 'GET', '/ready');
    expect(apiReady.status).toBe(503);
    expect(apiReady.body).toMatchObject({ code: 'UNAVAILABLE', down: ['store'] });
    expect(apiReady.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
    const early = await http(api, 'POST', PATH, {
      body: { configName: 'too-early', ...LOCAL_PG },
      headers: { 'x-product-name': 'startup' },
    });
    expect(early.status).toBe(503);
    expect(early.body).toMatchObject({ code: 'UNAVAILABLE' });
    expect(early.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));

    await expect
      .poll(async () => (await workerReady(worker as WorkerProcess)).body?.down, POLL)
      .toEqual(['store']);
    expect((await workerReady(worker)).status).toBe(503);
    expect((await http({ url: `http://127.0.0.1:${worker.opsPort()}` }, 'GET', '/health')).status).toBe(200);
    expect((await http(api, 'GET', '/health')).status).toBe(200);
    expect(worker.child.exitCode).toBeNull();
    expect(api.child.exitCode).toBeNull();

    proxy.restore();
    await expect.poll(async () => (await http(api as ApiProcess, 'GET', '/ready')).status, POLL).toBe(200);
    await expect.poll(async () => (await workerReady(worker as WorkerProcess)).status, POLL).toBe(200);

    const created = await http(api, 'POST', PATH, {
      body: { configName: `startup-${randomBytes(3).toString('hex')}`, ...LOCAL_PG },
      headers: { 'x-product-name': 'startup' },
    });
    expect(created.status).toBe(201);
    await expect
      .poll(
        async () => (await http(api as ApiProcess, 'GET', `${PATH}/${created.body.id}`)).body?.status,
        POLL,
      )
      .toBe('active');

    // /ready is bounded by STORE_TIMEOUT_MS (8 s here), not by a shorter fixed bound: a store
    // answering in 3 s serves requests, so both processes are ready (a 2 s bound said 503).
    await http(api, 'GET', '/ready');
    await workerReady(worker);
    proxy.setLatency(3_000);
    const [slowApi, slowWorker] = await Promise.all([http(api, 'GET', '/ready'), workerReady(worker)]);
    proxy.setLatency(0);
    expect(slowApi.status).toBe(200);
    expect(slowWorker.status).toBe(200);

    // SIGTERM after the wait: a clean exit, as before.
    expect(await worker.stop()).toBe(0);
    const output = [...api.output, ...worker.output].join('');
    expect(output).not.toContain(STORE_PASSWORD);
  });
});

describe('API and worker started while Redis is down (a private redis-server, stopped)', () => {
  let proxy: TcpProxy;
  let redis: RedisFixture;
  let setup: Setup;
  let api: ApiProcess | undefined;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    await ensureStoreDatabase();
    const target = new URL(STORE_DATABASE_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    redis = await startRedis();
    await redis.kill();
    setup = setupEnv(proxy, { REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await worker?.kill();
    await api?.kill();
    await proxy?.stop();
    if (setup) await dropSetup({ ...setup, prefix: 'none' });
    await redis?.stop();
  });

  it('stay up, say redis is awaited, and serve and verify once it answers', {
    timeout: 120_000,
  }, async () => {
    worker = spawnWorker(setup.env);
    api = await startApiProcess(setup.env);
    await expect
      .poll(async () => (await http(api as ApiProcess, 'GET', '/ready')).body?.down, POLL)
      .toEqual(['redis']);
    await expect
      .poll(async () => (await workerReady(worker as WorkerProcess)).body?.down, POLL)
      .toEqual(['redis']);
    expect(worker.child.exitCode).toBeNull();

    await redis.restart();
    await expect.poll(async () => (await http(api as ApiProcess, 'GET', '/ready')).status, POLL).toBe(200);
    await expect.poll(async () => (await workerReady(worker as WorkerProcess)).status, POLL).toBe(200);
    const created = await http(api, 'POST', PATH, {
      body: { configName: `startup-${randomBytes(3).toString('hex')}`, ...LOCAL_PG },
      headers: { 'x-product-name': 'startup' },
    });
    expect(created.status).toBe(201);
    await expect
      .poll(
        async () => (await http(api as ApiProcess, 'GET', `${PATH}/${created.body.id}`)).body?.status,
        POLL,
      )
      .toBe('active');
    expect(await worker.stop()).toBe(0);
  });
});

describe('SIGTERM while waiting for the store', () => {
  let proxy: TcpProxy;
  let setup: Setup;
  let api: ApiProcess | undefined;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    const target = new URL(STORE_DATABASE_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    proxy.refuse();
    setup = setupEnv(proxy);
  });
  afterAll(async () => {
    await worker?.kill();
    await api?.kill();
    await proxy?.stop();
  });

  it('both exit cleanly (code 0) without the store ever answering', async () => {
    worker = spawnWorker(setup.env);
    api = await startApiProcess(setup.env);
    await expect.poll(() => workerReady(worker as WorkerProcess).then((r) => r.status), POLL).toBe(503);
    expect(await worker.stop()).toBe(0);
    const apiExit = new Promise<number | null>((resolve) => api?.child.once('exit', resolve));
    api.child.kill('SIGTERM');
    expect(await apiExit).toBe(0);
  });
});

describe('a configuration the store or Redis refuses still stops the process at once', () => {
  const running: WorkerProcess[] = [];
  afterEach(async () => {
    for (const worker of running.splice(0)) await worker.kill();
  });

  /** Runs the worker until it exits; the exit code and everything it wrote. */
  async function runWorker(env: Record<string, string>) {
    const worker = spawnWorker({ NODE_ENV: 'test', LOG_LEVEL: 'info', WORKER_HEALTH_PORT: '0', ...env });
    running.push(worker);
    const code = await worker.exited;
    return { code, output: worker.output.join('') };
  }

  it('a role the store does not know: exit 1 naming STORE_URL, no password in the output', async () => {
    const store = new URL(STORE_DATABASE_URL);
    store.username = 'no_such_role_startup';
    store.password = STORE_PASSWORD;
    const { code, output } = await runWorker({ STORE_URL: store.toString(), REDIS_URL });
    expect(code).toBe(1);
    expect(output).toContain('STORE_URL: the store refused to start with it');
    expect(output).toContain('no_such_role_startup');
    expect(output).not.toContain(STORE_PASSWORD);
  });

  it('a Redis password Redis refuses: exit 1 naming REDIS_URL, no password in the output', async () => {
    const redisPassword = 'startup-redis-secret-41ab';
    const { code, output } = await runWorker({
      STORE_URL: STORE_DATABASE_URL,
      REDIS_URL: `redis://nobody:${redisPassword}@127.0.0.1:6379`,
    });
    expect(code).toBe(1);
    expect(output).toContain('REDIS_URL: Redis refused to start with it');
    expect(output).not.toContain(redisPassword);
  });

  it('an API with a STORE_URL that is no URL: exit 1 naming the variable', async () => {
    await expect(
      startApiProcess({ NODE_ENV: 'test', STORE_URL: 'postgres://a:b@[bad/x', REDIS_URL }, 10_000),
    ).rejects.toThrow(/STORE_URL: must be a valid URL/);
  });
});
