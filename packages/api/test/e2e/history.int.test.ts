/**
 * A connection's history end to end (docs/contract.md §11): the real API with tokens verified
 * locally and one organization per token, the real worker as a child process, real PostgreSQL.
 */
import type { HistoryEntry } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { AUDIENCE, bearer, ISSUER, makeKey, sign } from '../auth/fixtures.js';
import { type Harness, http, startApi } from '../harness.js';
import { closedPort, LOCAL_PG, PATH } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

describe('history of a connection (API + worker process + PostgreSQL)', () => {
  let h: Harness;
  let worker: WorkerProcess;
  const tokens: Record<'alice' | 'bob' | 'stranger', string> = { alice: '', bob: '', stranger: '' };

  beforeAll(async () => {
    const key = await makeKey('ES256');
    h = await startApi({
      AUTH_JWT_VERIFY_CERT: key.pem,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      MULTI_TENANT_ENABLED: 'true',
      // Multi-tenant egress is strict: this organization may reach the local PostgreSQL.
      EGRESS_TENANT_ALLOW: 'tenant-a=127.0.0.1/32',
      VERIFY_ATTEMPTS: '1',
      LOG_LEVEL: 'info',
    });
    worker = await startWorkerProcess(h.env);
    tokens.alice = await sign(key, { claims: { tenantId: 'tenant-a' } });
    tokens.bob = await sign(key, { claims: { tenantId: 'tenant-a', sub: 'bob' } });
    tokens.stranger = await sign(key, { claims: { tenantId: 'tenant-b', sub: 'mallory' } });
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
  });

  const as = (who: keyof typeof tokens, extra: Record<string, string> = {}) => ({
    ...bearer(tokens[who]),
    ...extra,
  });
  const status = async (id: string) => (await http(h, 'GET', `${PATH}/${id}`, { headers: as('alice') })).body;
  const settled = async (id: string, want: string) => {
    await expect.poll(async () => (await status(id)).status, { timeout: 30_000, interval: 100 }).toBe(want);
    return status(id);
  };

  it('reads back create, a failed verification, the fix, test now and the delete in order, with reasons and subjects', async () => {
    const created = await http(h, 'POST', PATH, {
      body: { ...LOCAL_PG, configName: 'history-e2e', port: await closedPort() },
      headers: as('alice', { 'x-product-name': 'reports' }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ availability: null });
    expect(created.body.lastStatusChangeAt).toBeUndefined();

    const failed = await settled(id, 'failed');
    expect(failed.verification.error.code).toBe('TCP_REFUSED');
    expect(failed).toMatchObject({ availability: 0 });
    const failedAt = failed.lastStatusChangeAt as string;
    expect(Date.parse(failedAt)).toBeGreaterThan(Date.parse(created.body.createdAt));

    // The fix: the right port (a new destination needs the password again).
    const fixed = await http(h, 'PATCH', `${PATH}/${id}`, {
      body: { port: LOCAL_PG.port, password: 'a-new-password' },
      headers: as('bob'),
    });
    expect(fixed.status).toBe(200);
    const active = await settled(id, 'active');
    expect(active).toMatchObject({ availability: 0.5 });
    expect(Date.parse(active.lastStatusChangeAt)).toBeGreaterThan(Date.parse(failedAt));

    const tested = await http(h, 'POST', `${PATH}/${id}/test`, { headers: as('alice') });
    expect(tested.body.status).toBe('success');
    const afterTest = await status(id);
    // Test now confirmed the same status: availability counts it, the status did not change.
    expect(afterTest).toMatchObject({ availability: 2 / 3, lastStatusChangeAt: active.lastStatusChangeAt });

    expect((await http(h, 'DELETE', `${PATH}/${id}`, { headers: as('bob') })).status).toBe(204);

    const history = await http(h, 'GET', `${PATH}/${id}/history`, { headers: as('alice') });
    expect(history.status).toBe(200);
    const items = history.body.items as HistoryEntry[];
    const summary = items.map((entry) =>
      entry.kind === 'change'
        ? { change: entry.action, subject: entry.subject, fields: entry.fields }
        : {
            verification: entry.reason,
            status: entry.status,
            statusChanged: entry.statusChanged,
            code: entry.code,
          },
    );
    expect(summary).toEqual([
      { change: 'deleted', subject: 'acme/bob', fields: undefined },
      { verification: 'test', status: 'active', statusChanged: false, code: undefined },
      { verification: 'changed', status: 'active', statusChanged: true, code: undefined },
      { change: 'updated', subject: 'acme/bob', fields: ['password', 'port'] },
      { verification: 'created', status: 'failed', statusChanged: true, code: 'TCP_REFUSED' },
      { change: 'created', subject: 'acme/alice', fields: undefined },
    ]);
    expect(items.every((entry) => entry.connectionId === id)).toBe(true);
    expect(items.find((e) => e.kind === 'verification' && e.code)).toMatchObject({ stage: 'tcp' });
    expect(history.body.nextCursor).toBeUndefined();
    // Nothing of a value is kept: not the new password, not the port number.
    expect(JSON.stringify(history.body)).not.toContain('a-new-password');

    // Pages of two, newest first, through an opaque cursor; the same pages through tRPC.
    const pages: HistoryEntry[][] = [];
    let cursor: string | undefined;
    do {
      const page = await http(h, 'GET', `${PATH}/${id}/history?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        headers: as('alice'),
      });
      expect(page.status).toBe(200);
      pages.push(page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
    expect(pages.flat()).toEqual(items);
    const client = connect(h.url, { token: tokens.alice });
    const first = await client.connections.history.query({ id, limit: 2 });
    expect(first.items).toEqual(items.slice(0, 2));
    const second = await client.connections.history.query({ id, limit: 2, cursor: first.nextCursor });
    expect(second.items).toEqual(items.slice(2, 4));

    // The deleted connection's history stays readable, within its product too, but not another's.
    expect(
      (
        await http(h, 'GET', `${PATH}/${id}/history`, {
          headers: as('alice', { 'x-product-name': 'reports' }),
        })
      ).status,
    ).toBe(200);
    expect(
      (await http(h, 'GET', `${PATH}/${id}/history`, { headers: as('alice', { 'x-product-name': 'other' }) }))
        .status,
    ).toBe(404);

    // Another organization: 404, through both doors.
    const foreign = await http(h, 'GET', `${PATH}/${id}/history`, { headers: as('stranger') });
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('NOT_FOUND');
    await expect(
      connect(h.url, { token: tokens.stranger }).connections.history.query({ id }),
    ).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
  });

  it('answers 400 for a cursor that no page returned and a limit out of range', async () => {
    const created = await http(h, 'POST', PATH, {
      body: { ...LOCAL_PG, configName: 'history-e2e-bad-query' },
      headers: as('alice', { 'x-product-name': 'reports' }),
    });
    const id = created.body.id as string;
    for (const query of ['cursor=not%20base64', 'cursor=bm90LWEtdXVpZA', 'limit=0', 'limit=101']) {
      const res = await http(h, 'GET', `${PATH}/${id}/history?${query}`, { headers: as('alice') });
      expect(res.status, query).toBe(400);
      expect(res.body.code, query).toBe('VALIDATION_FAILED');
    }
  });
});
