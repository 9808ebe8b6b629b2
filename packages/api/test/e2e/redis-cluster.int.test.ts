/**
 * Redis Cluster (REDIS_CLUSTER_NODES): three real cluster masters on private loopback ports. Every
 * key the service keeps (the queues, the rate-limit counters, the try-before-save settings, the
 * schema cache, the status channels) is under the `{hash tag}` prefix, so BullMQ's and the rate
 * limiter's multi-key scripts run on Cluster instead of failing CROSSSLOT.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { type RedisFixture, startRedis } from '@dbconn/worker/test-fixtures';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Harness, http, startApi } from '../harness.js';
import { createConnection, LOCAL_PG, PATH, waitForStatus } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

const execFileAsync = promisify(execFile);

describe('Redis Cluster', () => {
  const nodes: RedisFixture[] = [];
  let h: Harness;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) nodes.push(await startRedis({ args: ['--cluster-enabled', 'yes'] }));
    await execFileAsync('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-yes',
    ]);
    await vi.waitFor(
      async () => {
        for (const node of nodes) {
          const { stdout } = await execFileAsync('redis-cli', ['-p', String(node.port), 'CLUSTER', 'INFO']);
          expect(stdout).toContain('cluster_state:ok');
        }
      },
      { timeout: 30_000, interval: 200 },
    );
    h = await startApi({
      REDIS_CLUSTER_NODES: nodes.map((node) => `127.0.0.1:${node.port}`).join(','),
      QUEUE_PREFIX: `{dbconn_t_${randomBytes(4).toString('hex')}}`,
      RATE_LIMIT_PER_CONNECTION: '2',
      LOG_LEVEL: 'info',
    });
    worker = await startWorkerProcess(h.env);
  });

  afterAll(async () => {
    await worker?.stop();
    await h?.close();
    for (const node of nodes) await node.stop();
  });

  it('verifies, tests now, discovers the schema and rate limits, all on the cluster', async () => {
    const id = await createConnection(h, LOCAL_PG);
    expect((await waitForStatus(h, id)).status).toBe('active');

    const tested = await http(h, 'POST', `${PATH}/${id}/test`);
    expect(tested.status).toBe(200);
    expect(tested.body.status).toBe('success');
    const schema = await http(h, 'GET', `${PATH}/${id}/schema`);
    expect(schema.status).toBe(200);
    // Try before save: the settings travel to the worker through a Redis key of their own.
    const tried = await http(h, 'POST', `${PATH}/test`, { body: LOCAL_PG });
    expect(tried.status).toBe(200);
    expect(tried.body.status).toBe('success');
    // The per-connection budget of tests (2) is spent by the second; the multi-key script refuses the third.
    expect((await http(h, 'POST', `${PATH}/${id}/test`)).status).toBe(200);
    const limited = await http(h, 'POST', `${PATH}/${id}/test`);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
