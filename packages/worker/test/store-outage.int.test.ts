import { enqueueVerification } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../src/worker.js';
import { type Env, insertConnection, jobFor, openEnv, settled } from './e2e-fixtures.js';
import { type PostgresFixture, startPostgres } from './fixtures/index.js';

/**
 * The store is a private PostgreSQL this test stops and starts; the connection verified is the
 * machine's shared PostgreSQL (always up). Two attempts with a 50 ms backoff: a store outage that
 * counted as attempts would fail the job for good within a fraction of a second.
 */
describe('a verification while the store is down (private PostgreSQL as the store)', () => {
  let storeServer: PostgresFixture;
  let env: Env;
  let running: RunningWorker | undefined;

  beforeAll(async () => {
    storeServer = await startPostgres({ hba: ['host all all 127.0.0.1/32 trust'] });
    env = await openEnv({
      STORE_URL: `postgres://postgres@127.0.0.1:${storeServer.port}/postgres`,
      VERIFY_ATTEMPTS: '2',
      VERIFY_BACKOFF_MS: '50',
    });
  });
  afterAll(async () => {
    await running?.close();
    await storeServer?.resume().catch(() => {});
    await env?.close();
    await storeServer?.stop();
  });

  it('waits for the store without spending an attempt, and ends active soon after the store returns', async () => {
    const record = await insertConnection(env);
    await storeServer.halt();
    const queued = await enqueueVerification(env.queue, jobFor(record), env.config.verify);
    running = await startWorker({ config: env.config, log: env.log, store: env.store });

    // Several tries have met the dead store (each one started the job); none was counted as an attempt.
    const tries = async () => (await env.queue.getJob(queued.id as string))?.attemptsStarted ?? 0;
    await expect.poll(tries, { timeout: 20_000, interval: 100 }).toBeGreaterThanOrEqual(3);
    const waiting = await env.queue.getJob(queued.id as string);
    expect(['delayed', 'waiting', 'active']).toContain(await waiting?.getState());
    expect(waiting?.attemptsMade).toBe(0);

    await storeServer.resume();
    const { job, state } = await settled(env.queue, queued.id as string, 20_000);
    expect(state).toBe('completed');
    expect(job.returnvalue).toEqual({ status: 'active', attempt: 1 });
    const after = await env.store.findById({ organizationId: env.organizationId }, record.id);
    expect(after).toMatchObject({ status: 'active', verification: { outcome: 'passed', attempts: 1 } });
  });
});
