/**
 * Webhooks end to end (docs/contract.md §11): registered through REST, deliveries made by the real
 * worker process to a real receiver on loopback, every signature checked with standardwebhooks.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../examples/typed-client.js';
import { type Harness, http, startApi } from '../harness.js';
import { LOCAL_PG, PATH } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

const HOOKS = '/v1/management/webhooks';

describe('webhooks (API + worker process + receiver on loopback)', () => {
  let h: Harness;
  let worker: WorkerProcess;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.end();
    });
  });
  let receiverUrl = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dbconn`;
    h = await startApi({ LOG_LEVEL: 'info', WEBHOOK_RETRY_BASE_MS: '100' });
    worker = await startWorkerProcess(h.env);
  });
  afterAll(async () => {
    await worker?.stop();
    await h?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const events = () => received.map((r) => JSON.parse(r.body).type as string);

  it('shows the secret once, signs every delivery with it, and lists the attempts', async () => {
    const created = await http(h, 'POST', HOOKS, {
      body: { url: receiverUrl, events: ['connection.active', 'connection.updated', 'connection.deleted'] },
    });
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^whsec_/);
    const id = created.body.id as string;
    const read = await http(h, 'GET', `${HOOKS}/${id}`);
    expect(read.body).toMatchObject({ id, enabled: true, failureStreak: 0 });
    expect(JSON.stringify(read.body)).not.toContain(secret.slice(6));
    expect(JSON.stringify((await http(h, 'GET', HOOKS)).body)).not.toContain(secret.slice(6));

    const connection = await http(h, 'POST', PATH, {
      body: { ...LOCAL_PG, configName: 'webhooks-e2e' },
      headers: { 'x-product-name': 'reports' },
    });
    const connectionId = connection.body.id as string;
    await expect.poll(events, { timeout: 30_000, interval: 100 }).toEqual(['connection.active']);
    await http(h, 'PATCH', `${PATH}/${connectionId}`, { body: { metadata: { team: 'x' } } });
    await http(h, 'DELETE', `${PATH}/${connectionId}`);
    await expect
      .poll(events, { timeout: 30_000, interval: 100 })
      .toEqual(['connection.active', 'connection.updated', 'connection.deleted']);
    for (const request of received) {
      expect(() =>
        new Webhook(secret).verify(request.body, request.headers as Record<string, string>),
      ).not.toThrow();
    }
    const active = JSON.parse(received[0]?.body ?? '{}');
    expect(active.data.connection).toMatchObject({
      id: connectionId,
      status: 'active',
      productName: 'reports',
    });
    expect(active.data.verification.outcome).toBe('passed');
    expect(active.data.connection).not.toHaveProperty('password');
    expect(received.map((r) => r.body).join()).not.toContain(LOCAL_PG.password);

    const deliveries = await http(h, 'GET', `${HOOKS}/${id}/deliveries`);
    expect(deliveries.status).toBe(200);
    expect(
      deliveries.body.items.map((d: { event: string; outcome: string; statusCode: number }) => [
        d.event,
        d.outcome,
        d.statusCode,
      ]),
    ).toEqual([
      ['connection.deleted', 'delivered', 200],
      ['connection.updated', 'delivered', 200],
      ['connection.active', 'delivered', 200],
    ]);

    // Rotation: a new secret, shown once; both sign during the overlap.
    const rotated = await http(h, 'POST', `${HOOKS}/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).not.toBe(secret);
    expect(rotated.body.secretRotatedAt).toBeDefined();
    received.length = 0;
    const second = await http(h, 'POST', PATH, {
      body: { ...LOCAL_PG, configName: 'webhooks-e2e-2' },
      headers: { 'x-product-name': 'reports' },
    });
    await expect.poll(events, { timeout: 30_000, interval: 100 }).toEqual(['connection.active']);
    const [after] = received as [{ headers: IncomingHttpHeaders; body: string }];
    for (const key of [secret, newSecret]) {
      expect(() =>
        new Webhook(key).verify(after.body, after.headers as Record<string, string>),
      ).not.toThrow();
    }
    expect(JSON.parse(after.body).data.connection.id).toBe(second.body.id);
  });

  it('updates, filters by product, answers 404 for an unknown id, and deletes (REST and tRPC)', async () => {
    const created = await connect(h.url).webhooks.create.mutate({
      url: receiverUrl,
      events: ['connection.failed'],
      productName: 'Sales',
    });
    expect(created).toMatchObject({ productName: 'sales', enabled: true });
    const patched = await http(h, 'PATCH', `${HOOKS}/${created.id}`, {
      body: { events: ['connection.failed', 'connection.active'], productName: null, enabled: false },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      events: ['connection.failed', 'connection.active'],
      enabled: false,
    });
    expect(patched.body.productName).toBeUndefined();
    const bad = await http(h, 'POST', HOOKS, { body: { url: 'ftp://x', events: [] } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['events', 'url']);
    expect((await http(h, 'DELETE', `${HOOKS}/${created.id}`)).status).toBe(204);
    expect((await http(h, 'GET', `${HOOKS}/${created.id}`)).status).toBe(404);
    expect((await http(h, 'GET', `${HOOKS}/${created.id}/deliveries`)).status).toBe(404);
  });
});
