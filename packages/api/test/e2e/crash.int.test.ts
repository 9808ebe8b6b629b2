/**
 * A worker killed mid-verification (SIGKILL: no shutdown code runs) does not strand the
 * connection: its job's lock expires, BullMQ's stalled check in the next worker puts the job back,
 * and the connection still reaches a final state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startApi } from '../harness.js';
import { createConnection, silentServer, waitForStatus } from './helpers.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

describe('worker crash', () => {
  let h: Harness;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    h = await startApi({
      VERIFY_ATTEMPTS: '1',
      // The dial to the silent port hangs for 3 s per stage; the job lock lasts the verification
      // deadline plus a margin, so a dead worker's job is recovered within seconds.
      VERIFY_STAGE_TIMEOUT_MS: '3000',
      VERIFY_TIMEOUT_MS: '4000',
      SWEEP_INTERVAL_MS: '1000',
      SWEEP_STALE_AFTER_MS: '2000',
      LOG_LEVEL: 'info',
    });
    silent = await silentServer();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.kill();
    await h?.close();
    await silent?.stop();
  });

  it('a connection whose worker was SIGKILLed while verifying still reaches a final state', {
    timeout: 120_000,
  }, async () => {
    const first = await startWorkerProcess(h.env);
    workers.push(first);
    const id = await createConnection(h, {
      type: 'POSTGRESQL',
      host: '127.0.0.1',
      port: silent.port,
      databaseName: 'test',
      userName: 'postgres',
      password: 'x',
    });
    // Kill the moment the worker dials: it then has a full stage timeout (3 s) left to hang.
    await expect.poll(() => silent.accepted(), { timeout: 20_000, interval: 10 }).toBeGreaterThan(0);
    await first.kill();
    expect(first.child.signalCode).toBe('SIGKILL');
    const dialsBeforeCrash = silent.accepted();
    expect(dialsBeforeCrash).toBe(1);
    expect((await waitForStatus(h, id, ['verifying'], 1_000)).status).toBe('verifying');

    const second = await startWorkerProcess(h.env);
    workers.push(second);
    const connection = await waitForStatus(h, id, ['active', 'failed'], 90_000);

    expect(connection.status).toBe('failed');
    expect(connection.verification?.error?.code).toMatch(/^[A-Z]+_TIMEOUT$/);
    // The second worker dialled again: the result is its own, not a leftover of the first.
    expect(silent.accepted()).toBeGreaterThan(dialsBeforeCrash);
  });
});
