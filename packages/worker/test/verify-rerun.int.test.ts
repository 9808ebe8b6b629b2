import { type ConnectionEvent, enqueueVerification } from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifyConnectionProcessor } from '../src/processors/index.js';
import { type Env, insertConnection, jobFor, openEnv } from './e2e-fixtures.js';

/**
 * At-least-once delivery (issue 12, defect 4): a worker killed after writing the result but before
 * BullMQ recorded the completion hands the same job to another worker. That second run must leave
 * the record alone — no active → verifying → active flip. No worker consumes this queue: the test
 * runs the processor itself, twice, on the one job BullMQ stored in the real Redis.
 */
describe('a verify job run again after its result landed', () => {
  let env: Env;
  beforeAll(async () => {
    env = await openEnv({ VERIFY_STAGE_TIMEOUT_MS: '1500', VERIFY_TIMEOUT_MS: '5000' });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('finishes without touching the record or announcing a status', async () => {
    const events: ConnectionEvent[] = [];
    const process = createVerifyConnectionProcessor({
      store: env.store,
      keyring: { keys: env.config.secrets.keys },
      config: env.config,
      log: env.log,
      publish: async (event) => events.push(event),
    });
    const record = await insertConnection(env);
    const job = await enqueueVerification(env.queue, jobFor(record), env.config.verify);
    const scope = { organizationId: env.organizationId };

    expect(await process(job)).toEqual({ status: 'active', attempt: 1 });
    const verified = await env.store.findById(scope, record.id);
    expect(verified).toMatchObject({ status: 'active', version: 1, dialVersion: 1 });
    // Status changes only: live stage progress (events with `stage`) is not a change of status.
    const statusChanges = () => events.filter((e) => e.stage === undefined);
    expect(statusChanges().map((e) => e.status)).toEqual(['verifying', 'active']);

    // The same job again (as BullMQ's stalled-job check would hand it out after a crash).
    events.length = 0;
    const again = await env.queue.getJob(job.id as string);
    expect(again?.timestamp).toBe(job.timestamp);
    expect(await process(again ?? job)).toEqual({ status: 'skipped', attempt: 1 });
    expect(await env.store.findById(scope, record.id)).toEqual(verified);
    expect(events).toEqual([]);
  });

  it('a job made after the last result still verifies (a newer job is not a re-run)', async () => {
    const process = createVerifyConnectionProcessor({
      store: env.store,
      keyring: { keys: env.config.secrets.keys },
      config: env.config,
      log: env.log,
    });
    const record = await insertConnection(env, {
      status: 'active',
      lastVerifiedAt: new Date(Date.now() - 60_000),
    });
    const job = await enqueueVerification(env.queue, jobFor(record, 'periodic'), env.config.verify);
    expect(await process(job)).toEqual({ status: 'active', attempt: 1 });
    const after = await env.store.findById({ organizationId: env.organizationId }, record.id);
    expect(after?.lastVerifiedAt?.getTime()).toBeGreaterThanOrEqual(job.timestamp);
  });
});
