import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, http, startApi } from '../harness.js';
import { createConnection, LOCAL_PG, PATH, waitForStatus } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/**
 * Warnings end to end (docs/contract.md §12): the worker finds them on the local PostgreSQL (its
 * `postgres` login is a superuser), the result and a trial carry them, the list filters by them,
 * and the worker's metrics count them by code.
 */
describe('verification warnings (API + worker process + the local PostgreSQL)', () => {
  let h: Harness;
  let worker: WorkerProcess;
  beforeAll(async () => {
    h = await startApi({ VERIFY_STAGE_TIMEOUT_MS: '3000', VERIFY_TIMEOUT_MS: '10000', LOG_LEVEL: 'info' });
    worker = await startWorkerProcess(h.env);
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  it('shows ACCOUNT_OVERPRIVILEGED in the result, the history, the list filter, a trial and the metrics', async () => {
    const id = await createConnection(h, { ...LOCAL_PG, ssl: { mode: 'disable' } });
    const settled = await waitForStatus(h, id);
    expect(settled.status).toBe('active');
    const codes = settled.verification?.warnings?.map((w) => w.code);
    expect(codes).toContain('ACCOUNT_OVERPRIVILEGED');

    const history = await http(h, 'GET', `${PATH}/${id}/history`);
    expect(history.status).toBe(200);
    const verified = history.body.items.find((e: { kind: string }) => e.kind === 'verification');
    expect(verified.warnings).toContain('ACCOUNT_OVERPRIVILEGED');

    const filtered = await http(h, 'GET', `${PATH}?warning=account_overprivileged`);
    expect(filtered.status).toBe(200);
    expect(filtered.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    const none = await http(h, 'GET', `${PATH}?warning=TLS_VERSION_WEAK`);
    expect(none.body.total).toBe(0);
    const bad = await http(h, 'GET', `${PATH}?warning=NOT_A_WARNING`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['warning']);

    const tried = await http(h, 'POST', `${PATH}/test`, { body: { ...LOCAL_PG, ssl: { mode: 'disable' } } });
    expect(tried.status).toBe(200);
    expect(tried.body.status).toBe('success');
    expect(tried.body.warnings.map((w: { code: string }) => w.code)).toContain('ACCOUNT_OVERPRIVILEGED');

    const metrics = await fetch(`http://127.0.0.1:${worker.opsPort()}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(
      /dbconn_verification_warnings_total\{engine="POSTGRESQL",code="ACCOUNT_OVERPRIVILEGED"\} [1-9]/,
    );
    expect(metrics).not.toContain(LOCAL_PG.password);
  });
});
