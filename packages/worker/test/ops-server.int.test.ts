import {
  createRedis,
  createStore,
  createVerifyQueue,
  JOB_NAMES,
  RETRY_AFTER_SECONDS,
  uuidv7,
} from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../src/ops/metrics.js';
import { type OpsServerOptions, startOpsServer } from '../src/ops/ops-server.js';
import { closedPort, type Env, openEnv, silentServer } from './e2e-fixtures.js';

describe('worker operations server (real Redis, PostgreSQL store)', () => {
  let env: Env;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    env = await openEnv();
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await env?.close();
  });

  /** A server on a free loopback port; the store and Redis are the real ones unless overridden. */
  async function serve(overrides: Partial<OpsServerOptions> = {}): Promise<string> {
    const metrics = createWorkerMetrics({ queues: [env.queue], log: env.log });
    const server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      store: env.store,
      redis: env.redis,
      registry: metrics.registry,
      log: env.log,
      readyTimeoutMs: env.config.store.timeoutMs,
      ...overrides,
    });
    cleanups.push(() => server.close());
    return `http://127.0.0.1:${server.port}`;
  }

  /** A Redis client of the worker's kind pointed at a port where nothing listens. */
  async function unreachableRedis() {
    const redis = createRedis(`redis://127.0.0.1:${await closedPort()}`);
    redis.on('error', () => {});
    cleanups.push(() => redis.disconnect());
    return redis;
  }

  async function unreachableStore(port?: number) {
    const store = await createStore(`postgres://postgres@127.0.0.1:${port ?? (await closedPort())}/test`);
    cleanups.push(() => store.close());
    return store;
  }

  it('answers /health and /ready with 200 while the store and Redis answer', async () => {
    const base = await serve();
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it("answers /ready with 503 naming redis when the worker's Redis does not answer; /health stays 200", async () => {
    const base = await serve({ redis: await unreachableRedis() });
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
    expect(ready.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await ready.json()).toMatchObject({ status: 503, code: 'UNAVAILABLE', down: ['redis'] });
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it('names the store, or both, when they are down', async () => {
    const store = await unreachableStore();
    const storeDown = await fetch(`${await serve({ store })}/ready`);
    expect(storeDown.status).toBe(503);
    expect(await storeDown.json()).toMatchObject({ code: 'UNAVAILABLE', down: ['store'] });

    const bothDown = await fetch(`${await serve({ store, redis: await unreachableRedis() })}/ready`);
    expect(bothDown.status).toBe(503);
    expect(await bothDown.json()).toMatchObject({ code: 'UNAVAILABLE', down: ['store', 'redis'] });
  });

  it('counts a store that accepts the connection but never answers as down, within its timeout', async () => {
    const silent = await silentServer();
    cleanups.push(() => silent.stop());
    const base = await serve({ store: await unreachableStore(silent.port), readyTimeoutMs: 300 });
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ code: 'UNAVAILABLE', down: ['store'] });
    expect(silent.accepted()).toBeGreaterThan(0);
  });

  it('serves Prometheus text: process metrics and the depth of each queue', async () => {
    const base = await serve();
    await env.queue.add(JOB_NAMES.verifyConnection, {
      connectionId: uuidv7(),
      organizationId: env.organizationId,
      dialVersion: 1,
      reason: 'created',
    });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toContain('dbconn_queue_jobs{queue="verify",state="waiting"} 1\n');
    expect(text).toContain('dbconn_queue_jobs{queue="verify",state="active"} 0\n');
    expect(text).toMatch(/^dbconn_queue_oldest_waiting_age_seconds\{queue="verify"\} \d/m);
    expect(text).toContain('# TYPE dbconn_verifications_total counter');
  });

  it('still answers /metrics, without queue numbers, when Redis is down', async () => {
    const redis = await unreachableRedis();
    const deadQueue = createVerifyQueue(redis, env.config.redis.prefix);
    deadQueue.on('error', () => {});
    cleanups.push(() => deadQueue.close());
    const metrics = createWorkerMetrics({ queues: [deadQueue], log: env.log });
    const base = await serve({ registry: metrics.registry, redis });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('# TYPE dbconn_queue_jobs gauge');
    expect(text).not.toMatch(/^dbconn_queue_jobs\{/m);
  });

  it('answers 404 to other paths and 405 to other methods', async () => {
    const base = await serve();
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/health?probe=1`)).status).toBe(200);
  });
});
