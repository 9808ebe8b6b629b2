import { createServer, type Server, type Socket } from 'node:net';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../examples/typed-client.js';
import type { AppRouter } from '../../src/router.js';
import { type Harness, startApi } from '../harness.js';
import { LOCAL_PG } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

type Update =
  | { kind: 'stage'; stage: string; status: string }
  | { kind: 'result'; status: string }
  | { kind: 'error'; code: string };

/** Watches a started trial; `seen` fills as updates arrive, `done` settles when the stream ends. */
function watch(api: Client, trialId: string) {
  const seen: Update[] = [];
  const done = new Promise<Update[]>((resolve, reject) => {
    const subscription = api.connections.watchTrial.subscribe(
      { trialId },
      {
        onData: (update) => {
          if (update.kind === 'stage')
            seen.push({ kind: 'stage', stage: update.stage.name, status: update.stage.status });
          else {
            seen.push(
              update.kind === 'result'
                ? { kind: 'result', status: update.result.status }
                : { kind: 'error', code: update.error.code },
            );
            subscription.unsubscribe();
            resolve(seen);
          }
        },
        onError: (error) => {
          subscription.unsubscribe();
          reject(error);
        },
        onComplete: () => resolve(seen),
      },
    );
  });
  return { seen, done };
}

/** What a call failed with: its catalogue code. */
async function failure(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    if (error instanceof TRPCClientError) return String(error.data?.code);
    throw error;
  }
}

/**
 * Try before save, live (docs/contract.md §12): `connections.startTrial` takes the settings and
 * answers a trial id; `connections.watchTrial` runs the trial on a real worker and streams each stage
 * as the worker finishes it, then the result.
 */
describe('connections.startTrial and watchTrial', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let api: Client;
  /** A port that accepts and then holds every connection, silent, until `release`. */
  let held: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // Stage budgets far above the test's life: only the held server decides when the trial ends.
    h = await startApi({
      VERIFY_ATTEMPTS: '1',
      VERIFY_STAGE_TIMEOUT_MS: '120000',
      VERIFY_TIMEOUT_MS: '120000',
      INTERACTIVE_TIMEOUT_MS: '120000',
    });
    worker = await startWorkerProcess(h.env);
    api = connect(h.url);
    held = createServer((socket) => {
      sockets.add(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    held?.close();
    await worker?.stop();
    await h?.close();
  });

  it('streams every stage of a passing trial, then the success', async () => {
    const { trialId } = await api.connections.startTrial.mutate({ ...LOCAL_PG, ssl: { mode: 'disable' } });
    const updates = await watch(api, trialId).done;
    expect(updates).toEqual([
      { kind: 'stage', stage: 'dns', status: 'ok' },
      { kind: 'stage', stage: 'tcp', status: 'ok' },
      { kind: 'stage', stage: 'tls', status: 'skipped' },
      { kind: 'stage', stage: 'auth', status: 'ok' },
      { kind: 'stage', stage: 'database', status: 'ok' },
      { kind: 'stage', stage: 'schema', status: 'ok' },
      { kind: 'result', status: 'success' },
    ]);
  });

  it('sends each stage while the trial is still running: the result comes after them', async () => {
    const port = (held.address() as { port: number }).port;
    const { trialId } = await api.connections.startTrial.mutate({
      ...LOCAL_PG,
      port,
      ssl: { mode: 'disable' },
    });
    const { seen, done } = watch(api, trialId);
    // The server holds the dial at auth: the stages before it can only have come live.
    await expect
      .poll(() => seen.map((u) => (u.kind === 'stage' ? u.stage : u.kind)), { timeout: 30_000 })
      .toEqual(['dns', 'tcp', 'tls']);
    for (const socket of sockets) socket.destroy();
    const updates = await done;
    expect(updates.slice(0, 3)).toEqual([
      { kind: 'stage', stage: 'dns', status: 'ok' },
      { kind: 'stage', stage: 'tcp', status: 'ok' },
      { kind: 'stage', stage: 'tls', status: 'skipped' },
    ]);
    expect(updates.at(-1)).toEqual({ kind: 'result', status: 'failure' });
    expect(updates.slice(3, -1)).toContainEqual({ kind: 'stage', stage: 'auth', status: 'failed' });
    expect(updates.filter((u) => u.kind === 'result')).toHaveLength(1);
  });

  it('a trial is watched once; an unknown trial is NOT_FOUND; bad input names trialId', async () => {
    const { trialId } = await api.connections.startTrial.mutate({ ...LOCAL_PG, ssl: { mode: 'disable' } });
    expect((await watch(api, trialId).done).at(-1)).toEqual({ kind: 'result', status: 'success' });
    expect(await failure(watch(api, trialId).done)).toBe('NOT_FOUND');
    expect(await failure(watch(api, '0b9c2f4e-5d7a-4c1e-9f3b-2a6d8e1c4b70').done)).toBe('NOT_FOUND');
    try {
      await watch(api, 'not-a-trial').done;
      expect.unreachable('a malformed trial id was accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<AppRouter>).data).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [expect.objectContaining({ field: 'trialId' })],
      });
    }
  });

  it('startTrial refuses bad settings like testSettings, naming every bad field', async () => {
    try {
      await api.connections.startTrial.mutate({ ...LOCAL_PG, port: 0, host: 'has space' });
      expect.unreachable('bad settings were accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(TRPCClientError);
      const data = (error as TRPCClientError<AppRouter>).data;
      expect(data?.code).toBe('VALIDATION_FAILED');
      expect(data?.errors?.map((e) => e.field).sort()).toEqual(['host', 'port']);
    }
  });
});

describe('a live trial that cannot run to a result', () => {
  let h: Harness;
  let api: Client;
  beforeAll(async () => {
    // No worker at all: the trial is queued and nobody answers within the interactive timeout.
    h = await startApi({ INTERACTIVE_TIMEOUT_MS: '1000' });
    api = connect(h.url);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('ends the stream with the error as its last update (no reconnect to a taken trial)', async () => {
    const { trialId } = await api.connections.startTrial.mutate({ ...LOCAL_PG, ssl: { mode: 'disable' } });
    let reconnects = 0;
    const updates = await new Promise<unknown[]>((resolve, reject) => {
      const seen: unknown[] = [];
      const subscription = api.connections.watchTrial.subscribe(
        { trialId },
        {
          onData: (update) => {
            seen.push(update);
            if (update.kind !== 'stage') {
              subscription.unsubscribe();
              resolve(seen);
            }
          },
          onError: reject,
          onConnectionStateChange: (state) => {
            if (state.state === 'connecting' && state.error) reconnects++;
          },
        },
      );
    });
    expect(updates).toEqual([
      {
        kind: 'error',
        error: {
          code: 'WORKER_TIMEOUT',
          message: expect.stringContaining('1000 ms'),
          retryAfter: expect.any(Number),
        },
      },
    ]);
    expect(reconnects).toBe(0);
    // The trial ran (and failed) once: it cannot be watched again.
    expect(await failure(watch(api, trialId).done)).toBe('NOT_FOUND');
  });
});
