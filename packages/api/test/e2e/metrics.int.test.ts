import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, http, startApi } from '../harness.js';
import { createConnection, waitForStatus } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/** The value of one series in Prometheus text, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').at(-1));
  }
  return 0;
}

describe('metrics move after a create, through the API and a real worker', () => {
  let h: Harness;
  let worker: WorkerProcess;
  beforeAll(async () => {
    h = await startApi();
    worker = await startWorkerProcess(h.env);
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  it('the worker counts the verification; the API counts the create; no secret or id in either', async () => {
    const workerMetrics = async () => (await fetch(`http://127.0.0.1:${worker.opsPort()}/metrics`)).text();
    const apiMetrics = async () => (await http(h, 'GET', '/metrics')).body as string;
    const passed = { engine: 'POSTGRESQL', outcome: 'passed', queue: 'verify' };
    const before = sample(await workerMetrics(), 'dbconn_verifications_total', passed);
    const createdBefore = sample(await apiMetrics(), 'dbconn_connections_created_total', { door: 'rest' });

    const id = await createConnection(h, {
      type: 'POSTGRESQL',
      host: '127.0.0.1',
      port: 5432,
      databaseName: 'test',
      userName: 'postgres',
      password: 'metrics-secret-pw',
    });
    expect((await waitForStatus(h, id)).status).toBe('active');

    const after = await workerMetrics();
    expect(sample(after, 'dbconn_verifications_total', passed)).toBe(before + 1);
    expect(
      sample(after, 'dbconn_verification_duration_seconds_count', {
        engine: 'POSTGRESQL',
        outcome: 'passed',
      }),
    ).toBeGreaterThan(0);
    const api = await apiMetrics();
    expect(sample(api, 'dbconn_connections_created_total', { door: 'rest' })).toBe(createdBefore + 1);
    for (const text of [after, api]) {
      expect(text).not.toContain('metrics-secret-pw');
      expect(text).not.toContain(id);
    }
  });
});
