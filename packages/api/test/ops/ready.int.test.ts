import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { RETRY_AFTER_SECONDS } from '@dbconn/shared';
import { freePort, waitFor } from '@dbconn/worker/test-fixtures';
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
