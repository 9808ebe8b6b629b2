import { randomUUID } from 'node:crypto';
import { JOB_NAMES, loadConfig, QUEUE_NAMES, type Verification } from '@dbconn/shared';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PERIODIC_PRIORITY,
  periodicJobId,
  REVERIFY_SCHEDULER_ID,
  reverifyDue,
  reverifyTickMs,
  scheduleReverification,
} from '../src/ops/reverify.js';
import { type RunningWorker, startWorker } from '../src/worker.js';
import { closedPort, type Env, eventually, insertConnection, openEnv, settled } from './e2e-fixtures.js';

/**
 * The shortest interval the configuration accepts: one minute, so a tick every 6 s and periodic
 * jobs spread over at most 6 s. Transient failures retry fast.
 */
const SETTINGS = {
  REVERIFY_INTERVAL_MS: '60000',
  VERIFY_ATTEMPTS: '2',
  VERIFY_BACKOFF_MS: '50',
  VERIFY_STAGE_TIMEOUT_MS: '2000',
};
const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);

/** A previous result, as a connection verified `at` carries it. */
const verifiedAt = (at: Date, outcome: 'passed' | 'failed' = 'passed') => {
  const verification: Verification = {
    outcome,
    checkedAt: at.toISOString(),
    latencyMs: 10,
    attempts: 1,
    stages: [{ name: 'dns', status: 'ok', durationMs: 1 }],
    ...(outcome === 'failed'
      ? {
          error: {
            stage: 'tcp' as const,
            code: 'TCP_REFUSED',
            message: 'nothing accepted a connection',
            hint: 'start the server',
          },
        }
      : {}),
  };
  return {
    status: outcome === 'passed' ? ('active' as const) : ('failed' as const),
    lastVerifiedAt: at,
    statusChangedAt: at,
    verification,
  };
};

describe('a re-verification tick (real Redis, PostgreSQL store)', () => {
  let env: Env;

  beforeAll(async () => {
    env = await openEnv(SETTINGS);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('enqueues one periodic job per due connection, oldest first, spread over the tick; a second tick adds none', async () => {
    const dueFailed = await insertConnection(env, verifiedAt(hoursAgo(3), 'failed'));
    const dueActive = await insertConnection(env, verifiedAt(hoursAgo(2)));
    const recent = await insertConnection(env, verifiedAt(new Date(Date.now() - 1_000)));
    // Waiting for or in a verification already: the sweeper's business, not the tick's.
    const pending = await insertConnection(env, { status: 'pending', statusChangedAt: hoursAgo(2) });
    const verifying = await insertConnection(env, { ...verifiedAt(hoursAgo(2)), status: 'verifying' });
    const deps = { store: env.store, queue: env.queue, config: env.config, log: env.log };

    expect(await reverifyDue(deps)).toEqual({ due: 2, enqueued: 2, live: 0 });

    const jobs = await env.queue.getJobs([
      'waiting',
      'prioritized',
      'delayed',
      'active',
      'completed',
      'failed',
    ]);
    expect(jobs.map((job) => job.id).sort()).toEqual(
      [periodicJobId(dueFailed), periodicJobId(dueActive)].sort(),
    );
    const byId = new Map(jobs.map((job) => [job.id, job]));
    for (const record of [dueFailed, dueActive]) {
      const job = byId.get(periodicJobId(record));
      expect(job?.name).toBe(JOB_NAMES.verifyConnection);
      expect(job?.data).toEqual({
        connectionId: record.id,
        organizationId: record.organizationId,
        dialVersion: record.dialVersion,
        reason: 'periodic',
      });
      expect(job?.opts.attempts).toBe(2);
      // Behind anything created or changed (jobs without a priority run first).
      expect(job?.opts.priority).toBe(PERIODIC_PRIORITY);
    }
    // Two jobs over a 6 s tick: the oldest at once, the next half a tick later.
    const tickMs = reverifyTickMs(env.config.reverify.intervalMs);
    expect(byId.get(periodicJobId(dueFailed))?.opts.delay ?? 0).toBe(0);
    expect(byId.get(periodicJobId(dueActive))?.opts.delay).toBe(tickMs / 2);

    // A double tick (the scheduler fired twice, or another replica): nothing new.
    expect(await reverifyDue(deps)).toEqual({ due: 2, enqueued: 0, live: 2 });
    expect(
      await env.queue.getJobCountByTypes(
        'waiting',
        'prioritized',
        'delayed',
        'active',
        'completed',
        'failed',
      ),
    ).toBe(2);

    for (const record of [recent, pending, verifying]) {
      expect(await env.queue.getJob(periodicJobId(record))).toBeUndefined();
    }
  });
});

describe('a periodic job that ended without a new result (its worker died twice)', () => {
  let env: Env;

  beforeAll(async () => {
    env = await openEnv(SETTINGS);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('is enqueued again by the next tick', async () => {
    const record = await insertConnection(env, verifiedAt(hoursAgo(5)));
    const deps = { store: env.store, queue: env.queue, config: env.config, log: env.log };
    expect(await reverifyDue(deps)).toEqual({ due: 1, enqueued: 1, live: 0 });

    // Fail it the way BullMQ does after a second stall, by hand (the manual-processing API).
    const manual = new Worker(QUEUE_NAMES.verify, null, {
      connection: env.redis.duplicate({ maxRetriesPerRequest: null }),
      prefix: env.config.redis.prefix,
      autorun: false,
    });
    try {
      const token = randomUUID();
      const taken = await manual.getNextJob(token);
      expect(taken?.id).toBe(periodicJobId(record));
      await taken?.moveToFailed(new UnrecoverableError('job stalled more than allowable limit'), token);
    } finally {
      await manual.close();
    }
    expect(await env.queue.getJobState(periodicJobId(record))).toBe('failed');
    expect(await env.store.findById({ organizationId: env.organizationId }, record.id)).toMatchObject({
      status: 'active',
      lastVerifiedAt: record.lastVerifiedAt,
    });

    expect(await reverifyDue(deps)).toEqual({ due: 1, enqueued: 1, live: 0 });
    expect(await env.queue.getJobState(periodicJobId(record))).toBe('prioritized');
  });
});

describe('periodic re-verification end to end (scheduler, worker, PostgreSQL at 127.0.0.1:5432)', () => {
  let env: Env;
  let running: RunningWorker;

  beforeAll(async () => {
    env = await openEnv(SETTINGS);
    // The worker's default handlers: the verify queue's processors as the worker process wires them.
    running = await startWorker({ config: env.config, log: env.log, store: env.store });
  });
  afterAll(async () => {
    await running?.close();
    await env?.close();
  });

  it('re-verifies due connections through the normal processor; a recent one is left alone', async () => {
    const scope = { organizationId: env.organizationId };
    const oldPass = hoursAgo(2);
    const healthy = await insertConnection(env, verifiedAt(oldPass));
    // It was active; its server has gone away since.
    const broken = await insertConnection(env, { ...verifiedAt(oldPass), port: await closedPort() });
    // It failed; its database has been fixed since (here: it always worked).
    const fixed = await insertConnection(env, verifiedAt(oldPass, 'failed'));
    const recentAt = new Date(Date.now() - 1_000);
    const recent = await insertConnection(env, verifiedAt(recentAt));

    await scheduleReverification(env.queue, env.config, env.log);
    const scheduler = await env.queue.getJobScheduler(REVERIFY_SCHEDULER_ID);
    expect(scheduler).toMatchObject({ name: JOB_NAMES.reverifyActive, every: 6_000 });

    const finals = await Promise.all(
      [healthy, broken, fixed].map((record) =>
        settled(env.queue, periodicJobId(record)).then(({ job, state }) => ({ record, job, state })),
      ),
    );
    for (const { job, state } of finals) {
      expect(state).toBe('completed');
      expect(job.data.reason).toBe('periodic');
    }

    const healthyAfter = await env.store.findById(scope, healthy.id);
    expect(healthyAfter?.status).toBe('active');
    expect(healthyAfter?.verification?.outcome).toBe('passed');
    expect(healthyAfter?.lastVerifiedAt?.getTime()).toBeGreaterThan(oldPass.getTime());

    const brokenAfter = await env.store.findById(scope, broken.id);
    expect(brokenAfter?.status).toBe('failed');
    expect(brokenAfter?.verification?.error).toMatchObject({ stage: 'tcp', code: 'TCP_REFUSED' });
    expect(brokenAfter?.verification?.attempts).toBe(2);
    expect(brokenAfter?.lastVerifiedAt?.getTime()).toBeGreaterThan(oldPass.getTime());

    const fixedAfter = await env.store.findById(scope, fixed.id);
    expect(fixedAfter).toMatchObject({ status: 'active', verification: { outcome: 'passed' } });

    // The tick that enqueued them has finished; it did not touch the recent one.
    const tick = await eventually(
      async () =>
        (await env.queue.getJobs(['completed'])).find(
          (job) => job.name === JOB_NAMES.reverifyActive && job.returnvalue?.enqueued === 3,
        ),
      10_000,
      'the tick job',
    );
    expect(tick.returnvalue).toEqual({ due: 3, enqueued: 3, live: 0 });
    expect(await env.queue.getJob(periodicJobId(recent))).toBeUndefined();
    const recentAfter = await env.store.findById(scope, recent.id);
    expect(recentAfter).toMatchObject({ status: 'active', lastVerifiedAt: recentAt });
  });

  it('keeps one scheduler however many replicas start, and removes it when turned off', async () => {
    await scheduleReverification(env.queue, env.config, env.log);
    await scheduleReverification(env.queue, env.config, env.log);
    expect(await env.queue.getJobSchedulersCount()).toBe(1);

    await scheduleReverification(
      env.queue,
      loadConfig({ NODE_ENV: 'test', REVERIFY_INTERVAL_MS: '0' }),
      env.log,
    );
    expect(await env.queue.getJobSchedulersCount()).toBe(0);
    expect(await env.queue.getJobScheduler(REVERIFY_SCHEDULER_ID)).toBeUndefined();
  });
});
