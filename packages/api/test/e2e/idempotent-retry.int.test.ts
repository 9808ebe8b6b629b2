/**
 * A create whose answer was lost — the API killed (SIGKILL) after storing the connection, before the
 * client read the 201 — is retried with the same Idempotency-Key against a new API process and
 * answers 201 with the same connection, not 409 CONFIG_NAME_TAKEN nor a second connection.
 */
import { startTcpProxy, type TcpProxy } from '@dbconn/worker/test-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, http, seedBody, startApi } from '../harness.js';
import { type ApiProcess, startApiProcess } from './api-process.js';

const PATH = '/v1/management/connections';
/** Longer than the test: the first answer is held in the proxy until the API is gone. */
const ANSWER_HELD_MS = 600_000;

/** /health answers while the process still waits for the store and Redis: serving starts at /ready. */
const untilReady = (api: ApiProcess) =>
  expect
    .poll(
      () =>
        fetch(`${api.url}/ready`).then(
          (res) => res.status,
          () => 0,
        ),
      { timeout: 30_000 },
    )
    .toBe(200);

describe('an idempotent create retried after the API was killed mid-answer', () => {
  let h: Harness;
  let proxy: TcpProxy | undefined;
  const apis: ApiProcess[] = [];
  beforeAll(async () => {
    h = await startApi({ LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    for (const api of apis) await api.kill();
    await proxy?.stop();
    await h?.close();
  });

  it('answers 201 with the connection stored by the killed process', { timeout: 120_000 }, async () => {
    const first = await startApiProcess(h.env);
    apis.push(first);
    await untilReady(first);
    const url = new URL(first.url);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
    proxy.setLatency(ANSWER_HELD_MS);
    const request = {
      body: { ...seedBody(), configName: 'idem-killed' },
      headers: { 'x-product-name': 'my-product', 'idempotency-key': 'retry-after-kill' },
    };
    const lost = http({ url: `http://127.0.0.1:${proxy.port}` }, 'POST', PATH, request).then(
      () => 'answered',
      () => 'lost',
    );

    // Stored by the first process; its answer is still on the way when it dies.
    const scope = { organizationId: 'default' };
    await expect
      .poll(async () => (await h.store.findByConfigName(scope, 'idem-killed'))?.id, { timeout: 30_000 })
      .toBeDefined();
    const stored = await h.store.findByConfigName(scope, 'idem-killed');
    await first.kill();
    expect(await lost).toBe('lost');

    const second = await startApiProcess(h.env);
    apis.push(second);
    await untilReady(second);
    const retried = await http(second, 'POST', PATH, request);
    expect(retried.status).toBe(201);
    expect(retried.body.id).toBe(stored?.id);
    expect(retried.headers.get('location')).toBe(`${PATH}/${stored?.id}`);
    // And again: the same answer, still one connection of that name.
    const again = await http(second, 'POST', PATH, request);
    expect(again.body).toEqual(retried.body);
    const page = await http(second, 'GET', `${PATH}?limit=100`);
    expect(
      page.body.items.filter((c: { configName: string }) => c.configName === 'idem-killed'),
    ).toHaveLength(1);
  });
});
