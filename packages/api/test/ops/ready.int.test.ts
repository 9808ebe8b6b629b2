import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
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

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

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
    expect((await until(ready, (r) => r.status === 200)).body).toEqual({ status: 'ready' });

    redis.kill('SIGTERM');
    await new Promise((resolve) => redis.once('exit', resolve));
    const down = await until(ready, (r) => r.status === 503);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ code: 'UNAVAILABLE', down: ['redis'] });
    expect(down.headers.get('retry-after')).toBe('5');
    expect((await http(h, 'GET', '/health')).status).toBe(200);

    redis = startRedis(port);
    const back = await until(ready, (r) => r.status === 200);
    expect(back.status).toBe(200);
  });
});
