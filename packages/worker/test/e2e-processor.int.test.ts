import { randomUUID } from 'node:crypto';
import {
  createInteractiveQueue,
  enqueueVerification,
  JOB_NAMES,
  QUEUE_NAMES,
  type RetryPolicy,
  sealSecrets,
  verifyJobId,
} from '@dbconn/shared';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodicJobId } from '../src/ops/reverify.js';
import { createSweeper, SWEEP_BATCH_SIZE, type Sweeper } from '../src/ops/sweeper.js';
import { SECRETS_UNREADABLE, type VerifyJobResult } from '../src/processors/index.js';
import { createInteractiveHandlers } from '../src/processors/interactive.processor.js';
import { type RunningWorker, startWorker } from '../src/worker.js';
import {
  closedPort,
  type Env,
  eventually,
  insertConnection,
  jobFor,
  openEnv,
  settled,
  silentServer,
} from './e2e-fixtures.js';

/** Retries are fast here; a stage that hears nothing gives up after 1.5 s. */
const FAST = {
  VERIFY_ATTEMPTS: '3',
  VERIFY_BACKOFF_MS: '50',
  VERIFY_STAGE_TIMEOUT_MS: '1500',
  VERIFY_TIMEOUT_MS: '5000',
  WORKER_CONCURRENCY: '4',
};
const TEN_MINUTES_AGO = () => new Date(Date.now() - 10 * 60_000);

describe('verify-connection processor (real Redis, PostgreSQL store, engines)', () => {
  let env: Env;
  let running: RunningWorker;
  const passwords: string[] = [];

  beforeAll(async () => {
    env = await openEnv(FAST);
    running = await startWorker({ config: env.config, log: env.log, store: env.store });
  });
  afterAll(async () => {
    await running?.close();
    await env?.close();
  });

  const enqueue = async (record: Parameters<typeof jobFor>[0], retry: RetryPolicy = env.config.verify) => {
    const job = await enqueueVerification(env.queue, jobFor(record), retry);
    return settled(env.queue, job.id as string);
  };

  it('a reachable PostgreSQL becomes active; a permanent failure fails at once, without retries', async () => {
    const good = await insertConnection(env);
    const unknownDb = await insertConnection(env, { databaseName: `no_such_db_${randomUUID().slice(0, 8)}` });
    passwords.push(good.password, unknownDb.password);

    const [ok, bad] = await Promise.all([enqueue(good), enqueue(unknownDb)]);
    expect(ok.state).toBe('completed');
    expect(ok.job.returnvalue).toEqual({ status: 'active', attempt: 1 });
    const activeRecord = await env.store.findById({ organizationId: env.organizationId }, good.id);
    expect(activeRecord?.status).toBe('active');
    expect(activeRecord?.verification?.outcome).toBe('passed');
    expect(activeRecord?.verification?.attempts).toBe(1);

    expect(bad.state).toBe('completed');
    const failedRecord = await env.store.findById({ organizationId: env.organizationId }, unknownDb.id);
    expect(failedRecord?.status).toBe('failed');
    expect(failedRecord?.verification?.error).toMatchObject({
      stage: 'database',
      code: 'DATABASE_NOT_FOUND',
    });
    expect(failedRecord?.verification?.attempts).toBe(1);
  });

  it('a payload that does not parse fails for good on the first attempt', async () => {
    const leaked = `pw-${randomUUID()}`;
    const job = await env.queue.add(
      JOB_NAMES.verifyConnection,
      // A producer bug: an id that is not a UUID, and a credential that must never ride in job data.
      {
        connectionId: 'not-a-uuid',
        organizationId: env.organizationId,
        dialVersion: 1,
        reason: 'created',
        password: leaked,
      } as never,
      { attempts: 3, backoff: { type: 'fixed', delay: 10 } },
    );
    const { job: done, state } = await settled(env.queue, job.id as string);
    expect(state).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    expect(done.failedReason).toMatch(/invalid verify-connection payload.*connectionId/);
    expect(done.failedReason).not.toContain(leaked);
  });

  it('a job whose name has no handler fails for good', async () => {
    const data = {
      connectionId: randomUUID(),
      organizationId: env.organizationId,
      dialVersion: 1,
      reason: 'created' as const,
    };
    const job = await env.queue.add('no-such-job' as never, data, { attempts: 3 });
    const { job: done, state } = await settled(env.queue, job.id as string);
    expect(state).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    expect(done.failedReason).toContain('no handler for job no-such-job');
  });

  it('a job made for dialVersion 1 does nothing to a connection now at dialVersion 2', async () => {
    const changedAt = new Date(Date.now() - 1_000);
    const record = await insertConnection(env, { dialVersion: 2, version: 3, statusChangedAt: changedAt });
    passwords.push(record.password);
    const { job, state } = await enqueue({ ...record, dialVersion: 1 });

    expect(state).toBe('completed');
    expect(job.returnvalue).toEqual({ status: 'skipped', attempt: 1 });
    const after = await env.store.findById({ organizationId: env.organizationId }, record.id);
    expect(after).toMatchObject({
      status: 'pending',
      dialVersion: 2,
      version: 3,
      statusChangedAt: changedAt,
    });
    expect(after?.verification).toBeUndefined();
  });

  it('a result for settings changed while the verification ran is not written', async () => {
    const silent = await silentServer();
    try {
      const record = await insertConnection(env, { port: silent.port });
      passwords.push(record.password);
      const job = await enqueueVerification(env.queue, jobFor(record), { attempts: 1, backoffMs: 0 });

      // The worker has claimed the connection and is talking to a server that never answers.
      await eventually(async () => (silent.accepted() > 0 ? true : undefined), 10_000, 'the dial');
      const inFlight = await env.store.findById({ organizationId: env.organizationId }, record.id);
      expect(inFlight?.status).toBe('verifying');
      const updated = await env.store.update({ organizationId: env.organizationId }, record.id, {
        port: 5432,
        redial: true,
      });
      expect(updated?.dialVersion).toBe(2);

      const { job: done, state } = await settled(env.queue, job.id as string);
      expect(state).toBe('completed');
      const result = done.returnvalue as VerifyJobResult;
      expect(result.status).toBe('discarded');
      expect(result.code).toMatch(/_TIMEOUT$/);
      const after = await env.store.findById({ organizationId: env.organizationId }, record.id);
      expect(after).toMatchObject({ status: 'pending', dialVersion: 2, port: 5432 });
      expect(after?.verification).toBeUndefined();
    } finally {
      await silent.stop();
    }
  });

  it('a transient failure is retried with backoff, then the connection fails', async () => {
    const record = await insertConnection(env, { port: await closedPort() });
    passwords.push(record.password);
    const { job, state } = await enqueue(record, { attempts: 3, backoffMs: 50 });

    expect(state).toBe('completed');
    expect(job.attemptsMade).toBeGreaterThan(1);
    expect(job.returnvalue).toEqual({ status: 'failed', attempt: 3, code: 'TCP_REFUSED' });
    const after = await env.store.findById({ organizationId: env.organizationId }, record.id);
    expect(after?.status).toBe('failed');
    expect(after?.verification?.attempts).toBe(3);
    expect(after?.verification?.error).toMatchObject({ stage: 'tcp', code: 'TCP_REFUSED' });
  });

  it('a refused host fails with HOST_FORBIDDEN, and the worker log names the rule that refused it', async () => {
    const record = await insertConnection(env, { host: '169.254.169.254' });
    const { job } = await enqueue(record);
    expect(job.returnvalue).toMatchObject({ status: 'failed', code: 'HOST_FORBIDDEN' });
    // A log object of this connection carries the rule (log objects first; the message is free text).
    const logged = env.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.find((o) => o.connectionId === record.id && o.rule !== undefined)).toBeDefined();
  });

  it('secrets that do not open fail the connection with SECRETS_UNREADABLE, without dialling or retrying', async () => {
    // Sealed for another connection id: the associated data does not match, so it cannot open.
    const sealedElsewhere = sealSecrets(
      { keys: env.config.secrets.keys },
      { password: 'x' },
      { organizationId: env.organizationId, connectionId: randomUUID() },
    );
    const listener = await silentServer();
    const record = await insertConnection(env, { sealedSecrets: sealedElsewhere, port: listener.port });
    const { job, state } = await enqueue(record).finally(() => listener.stop());
    expect(listener.accepted()).toBe(0);

    expect(state).toBe('completed');
    expect(job.returnvalue).toEqual({ status: 'failed', attempt: 1, code: SECRETS_UNREADABLE });
    const after = await env.store.findById({ organizationId: env.organizationId }, record.id);
    expect(after?.status).toBe('failed');
    expect(after?.verification?.error).toMatchObject({ stage: 'auth', code: SECRETS_UNREADABLE });
    expect(after?.verification?.stages.find((s) => s.name === 'tcp')?.status).toBe('skipped');
  });

  it('a stranded connection picked up by the sweeper is verified by the worker', async () => {
    const record = await insertConnection(env, { statusChangedAt: TEN_MINUTES_AGO() });
    passwords.push(record.password);
    const sweeper = createSweeper({ ...env, config: env.config });
    const report = await sweeper.sweepOnce();
    expect(report).toMatchObject({ requeued: 1 });

    const { job } = await settled(env.queue, verifyJobId(jobFor(record)));
    expect(job.data.reason).toBe('sweep');
    expect(job.returnvalue).toMatchObject({ status: 'active' });
    const after = await env.store.findById({ organizationId: env.organizationId }, record.id);
    expect(after?.status).toBe('active');
  });

  it('no password reached a log line, a job payload or a job result', async () => {
    expect(passwords.length).toBeGreaterThan(3);
    const logText = env.logs.join('\n');
    const jobs = await env.queue.getJobs(['completed', 'failed']);
    const jobText = JSON.stringify(
      jobs.map((j) => ({ data: j.data, result: j.returnvalue, reason: j.failedReason })),
    );
    expect(logText).toContain('connection verified');
    for (const password of passwords) {
      expect(logText).not.toContain(password);
      expect(jobText).not.toContain(password);
    }
  });
});

describe('sweeper', () => {
  let env: Env;
  let sweeper: Sweeper;

  beforeAll(async () => {
    // No worker on this queue: jobs stay exactly where the test leaves them.
    env = await openEnv(FAST);
    sweeper = createSweeper({ ...env, config: env.config });
  });
  afterAll(async () => {
    await env?.close();
  });

  const scope = () => ({ organizationId: env.organizationId });

  it('replaces a job that already failed for good, and sends verifying back to pending', async () => {
    const record = await insertConnection(env, { status: 'verifying', statusChangedAt: TEN_MINUTES_AGO() });
    await enqueueVerification(env.queue, jobFor(record), { attempts: 1, backoffMs: 0 });
    // Fail it the way a worker would, by hand (BullMQ's manual-processing API).
    const manual = new Worker(QUEUE_NAMES.verify, null, {
      connection: env.redis.duplicate({ maxRetriesPerRequest: null }),
      prefix: env.config.redis.prefix,
      autorun: false,
    });
    try {
      const token = randomUUID();
      const taken = await manual.getNextJob(token);
      expect(taken?.id).toBe(verifyJobId(jobFor(record)));
      await taken?.moveToFailed(new UnrecoverableError('stalled more than allowable limit'), token);
    } finally {
      await manual.close();
    }
    expect(await (await env.queue.getJob(verifyJobId(jobFor(record))))?.getState()).toBe('failed');

    const report = await sweeper.sweepOnce();
    expect(report.requeued).toBe(1);

    const job = await env.queue.getJob(verifyJobId(jobFor(record)));
    expect(await job?.getState()).toBe('waiting');
    expect(job?.data.reason).toBe('sweep');
    expect(job?.failedReason).toBeFalsy();
    expect((await env.store.findById(scope(), record.id))?.status).toBe('pending');
  });

  it('re-enqueues a connection stranded in pending with no job', async () => {
    const record = await insertConnection(env, { statusChangedAt: TEN_MINUTES_AGO() });
    expect(await env.queue.getJob(verifyJobId(jobFor(record)))).toBeUndefined();

    expect(await sweeper.sweepOnce()).toEqual({ requeued: 1, live: 0 });

    const job = await env.queue.getJob(verifyJobId(jobFor(record)));
    expect(job?.data).toEqual(jobFor(record, 'sweep'));
    expect(await job?.getState()).toBe('waiting');
    const after = await env.store.findById(scope(), record.id);
    expect(after?.status).toBe('pending');
    expect(after?.statusChangedAt.getTime()).toBeGreaterThan(record.statusChangedAt.getTime());
    // Requeue touched the connection: it is not stranded any more, so the next sweep skips it.
    expect(await sweeper.sweepOnce()).toEqual({ requeued: 0, live: 0 });
  });

  it('leaves alone a stranded-looking connection whose job is still waiting', async () => {
    const record = await insertConnection(env, { statusChangedAt: TEN_MINUTES_AGO() });
    const queued = await enqueueVerification(env.queue, jobFor(record), env.config.verify);

    const report = await sweeper.sweepOnce();
    expect(report.requeued).toBe(0);
    expect(report.live).toBeGreaterThanOrEqual(1);
    const job = await env.queue.getJob(verifyJobId(jobFor(record)));
    expect(job?.timestamp).toBe(queued.timestamp);
    expect(job?.data.reason).toBe('created');
    expect((await env.store.findById(scope(), record.id))?.statusChangedAt).toEqual(record.statusChangedAt);
  });

  it('leaves alone a connection whose periodic job is still waiting (it will verify the same settings)', async () => {
    const record = await insertConnection(env, {
      status: 'verifying',
      statusChangedAt: TEN_MINUTES_AGO(),
      lastVerifiedAt: TEN_MINUTES_AGO(),
    });
    await env.queue.add(JOB_NAMES.verifyConnection, jobFor(record, 'periodic'), {
      jobId: periodicJobId(record),
    });
    const report = await sweeper.sweepOnce();
    expect(report.requeued).toBe(0);
    expect(await env.queue.getJob(verifyJobId(jobFor(record)))).toBeUndefined();
    expect((await env.store.findById(scope(), record.id))?.status).toBe('verifying');
  });

  it('pages past a full batch of connections with live jobs to the stranded one behind them', async () => {
    const livePast = new Date(Date.now() - 60 * 60_000);
    const live = await Promise.all(
      Array.from({ length: SWEEP_BATCH_SIZE }, () => insertConnection(env, { statusChangedAt: livePast })),
    );
    await Promise.all(
      live.map((record) => enqueueVerification(env.queue, jobFor(record), env.config.verify)),
    );
    const stranded = await insertConnection(env, { statusChangedAt: TEN_MINUTES_AGO() });

    const report = await sweeper.sweepOnce();
    expect(report.live).toBeGreaterThanOrEqual(SWEEP_BATCH_SIZE);
    expect(report.requeued).toBe(1);
    expect((await env.queue.getJob(verifyJobId(jobFor(stranded))))?.data.reason).toBe('sweep');
  });
});

describe('graceful close', () => {
  let env: Env;

  beforeAll(async () => {
    // A stage timeout far longer than the grace period: only the abort can end the dial in time.
    env = await openEnv({ ...FAST, VERIFY_STAGE_TIMEOUT_MS: '30000', VERIFY_TIMEOUT_MS: '40000' });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('aborts an in-flight verification after the grace period and hands the job back unspent', async () => {
    const silent = await silentServer();
    try {
      const running = await startWorker({
        config: env.config,
        log: env.log,
        store: env.store,
        shutdownGraceMs: 200,
      });
      const record = await insertConnection(env, { port: silent.port });
      const queued = await enqueueVerification(env.queue, jobFor(record), env.config.verify);
      await eventually(async () => (silent.accepted() > 0 ? true : undefined), 10_000, 'the dial');

      await running.close();

      const job = await env.queue.getJob(queued.id as string);
      expect(await job?.getState()).toBe('waiting');
      expect(job?.attemptsMade).toBe(0);
      const after = await env.store.findById({ organizationId: env.organizationId }, record.id);
      expect(after?.status).toBe('verifying');
      expect(after?.verification).toBeUndefined();
    } finally {
      await silent.stop();
    }
  });
  it('a test now cut short by shutdown is not recorded as a failure: a background verification takes over', async () => {
    const silent = await silentServer();
    const interactiveQueue = createInteractiveQueue(env.redis, env.config.redis.prefix);
    try {
      const deps = {
        store: env.store,
        keyring: { keys: env.config.secrets.keys },
        config: env.config,
        log: env.log,
      };
      const running = await startWorker({
        config: env.config,
        log: env.log,
        store: env.store,
        queue: QUEUE_NAMES.interactive,
        shutdownGraceMs: 200,
        handlers: createInteractiveHandlers(
          { ...deps, redis: env.redis, prefix: env.config.redis.prefix, queue: env.queue },
          async () => null,
        ),
      });
      const record = await insertConnection(env, { port: silent.port });
      await interactiveQueue.add(JOB_NAMES.testConnection, {
        organizationId: env.organizationId,
        connectionId: record.id,
        dialVersion: record.dialVersion,
      });
      await eventually(async () => (silent.accepted() > 0 ? true : undefined), 10_000, 'the dial');

      await running.close();

      const after = await env.store.findById({ organizationId: env.organizationId }, record.id);
      expect(after?.status).toBe('pending');
      expect(after?.verification).toBeUndefined();
      const takeover = await env.queue.getJob(verifyJobId(jobFor(record)));
      expect(await takeover?.getState()).toBe('waiting');
      expect(takeover?.data).toMatchObject({ connectionId: record.id, reason: 'manual' });
    } finally {
      await interactiveQueue.obliterate({ force: true });
      await interactiveQueue.close();
      await silent.stop();
    }
  });
});
