import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { RETRY_AFTER_SECONDS } from '@dbconn/shared';
import {
  freePort,
  type RedisFixture,
  STORE_DATABASE_URL,
  startRedis as startRedisFixture,
  startTcpProxy,
  type TcpProxy,
  waitFor,
} from '@dbconn/worker/test-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, http, startApi } from '../harness.js';

/** Whether something accepts TCP connections on the port now. */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** A Redis of this test's own, so stopping it does not disturb anything else on the machine. */
function startRedis(port: number): ChildProcess {
  return spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
}

/** Redis stops and starts in a moment, but a loaded machine can take a while. */
const POLL = { timeout: 20_000, interval: 100 };

describe('GET /ready follows Redis going away and coming back', () => {
  let port: number;
  let redis: ChildProcess;
  let h: Harness;
  beforeAll(async () => {
    port = await freePort();
    redis = startRedis(port);
    await waitFor(() => accepts(port), 'the test Redis');
    h = await startApi({ REDIS_URL: `redis://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await h?.close();
    redis?.kill('SIGKILL');
  });

  it('200 while up; 503 naming redis while stopped; 200 again once it is back', async () => {
    const ready = () => http(h, 'GET', '/ready');
    await expect.poll(async () => (await ready()).status, POLL).toBe(200);
    expect((await ready()).body).toEqual({ status: 'ready' });

    redis.kill('SIGTERM');
    await new Promise((resolve) => redis.once('exit', resolve));
    await expect.poll(async () => (await ready()).status, POLL).toBe(503);
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ code: 'UNAVAILABLE', down: ['redis'] });
    expect(down.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
    expect((await http(h, 'GET', '/health')).status).toBe(200);

    redis = startRedis(port);
    await expect.poll(async () => (await ready()).status, POLL).toBe(200);
  });
});

/**
 * /ready waits for each dependency as long as a store call may take (STORE_TIMEOUT_MS), no longer:
 * it says "not ready" exactly when requests would fail, and still answers when a dependency hangs.
 */
describe('GET /ready is bounded by STORE_TIMEOUT_MS', () => {
  let proxy: TcpProxy;
  let slowStore: Harness;
  let redis: RedisFixture;
  let frozenRedis: Harness;
  beforeAll(async () => {
    const target = new URL(STORE_DATABASE_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    target.port = String(proxy.port);
    target.searchParams.set('schema', `ready_${Math.random().toString(36).slice(2, 10)}`);
    slowStore = await startApi({ STORE_URL: target.toString(), STORE_TIMEOUT_MS: '8000' });
    redis = await startRedisFixture();
    frozenRedis = await startApi({ REDIS_URL: redis.url, STORE_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => {
    redis?.thaw();
    await slowStore?.close();
    await frozenRedis?.close();
    await proxy?.stop();
    await redis?.stop();
  });

  it('a store answering in 3 s, within its 8 s deadline, is ready', async () => {
    // A pooled client is open and idle: the probe's ping then costs one round trip.
    expect((await http(slowStore, 'GET', '/ready')).status).toBe(200);
    proxy.setLatency(3_000);
    try {
      // A fixed 2 s bound answered 503 here, while requests on the same store were served.
      expect((await http(slowStore, 'GET', '/ready')).status).toBe(200);
    } finally {
      proxy.setLatency(0);
    }
  });

  it('a frozen Redis (SIGSTOP: sockets open, no answer, no deadline of its own) is 503 naming redis, not a hang', async () => {
    await expect.poll(async () => (await http(frozenRedis, 'GET', '/ready')).status, POLL).toBe(200);
    redis.freeze();
    // The test's own timeout is the bound asserted: without one, this request never returns.
    const ready = await http(frozenRedis, 'GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ code: 'UNAVAILABLE', down: ['redis'] });
    redis.thaw();
    await expect.poll(async () => (await http(frozenRedis, 'GET', '/ready')).status, POLL).toBe(200);
  });
});
