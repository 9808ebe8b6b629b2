import { randomUUID } from 'node:crypto';
import {
  createInteractiveQueue,
  enqueueVerification,
  type InteractiveJob,
  JOB_NAMES,
  QUEUE_NAMES,
  type Queue,
} from '@dbconn/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../src/ops/metrics.js';
import { type OpsServer, startOpsServer } from '../src/ops/ops-server.js';
import { createVerifyQueueHandlers } from '../src/processors/index.js';
import { createInteractiveHandlers } from '../src/processors/interactive.processor.js';
import { type RunningWorker, startWorker } from '../src/worker.js';
import { closedPort, type Env, insertConnection, jobFor, openEnv, settled } from './e2e-fixtures.js';

/** One sample of the Prometheus text: its metric name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the samples of Prometheus text format (label values here never contain `"` or `,`). */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
    );
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample with exactly these labels; undefined when there is none. */
function sampleValue(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).sort();
  return samples.find(
    (s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(wanted),
  )?.value;
}

const FAST = { VERIFY_ATTEMPTS: '2', VERIFY_BACKOFF_MS: '50', VERIFY_STAGE_TIMEOUT_MS: '2000' };

describe('verification metrics (real processors, PostgreSQL at 127.0.0.1:5432, Redis)', () => {
  let env: Env;
  let interactiveQueue: Queue<InteractiveJob>;
  let background: RunningWorker;
  let interactive: RunningWorker;
  let server: OpsServer;
  const scrape = async () =>
    parseSamples(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text());

  beforeAll(async () => {
    env = await openEnv(FAST);
    interactiveQueue = createInteractiveQueue(env.redis, env.config.redis.prefix);
    const metrics = createWorkerMetrics({ queues: [env.queue, interactiveQueue], log: env.log });
    const deps = {
      store: env.store,
      keyring: { keys: env.config.secrets.keys },
      config: env.config,
      log: env.log,
      onVerified: metrics.recordVerification,
    };
    background = await startWorker({
      config: env.config,
      log: env.log,
      store: env.store,
      handlers: createVerifyQueueHandlers({ ...deps, queue: env.queue }),
    });
    interactive = await startWorker({
      config: env.config,
      log: env.log,
      store: env.store,
      queue: QUEUE_NAMES.interactive,
      handlers: createInteractiveHandlers(
        { ...deps, redis: env.redis, prefix: env.config.redis.prefix, queue: env.queue },
        async () => {
          throw new Error('schema discovery is not part of this test');
        },
      ),
    });
    server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      store: env.store,
      redis: env.redis,
      registry: metrics.registry,
      log: env.log,
      readyTimeoutMs: env.config.store.timeoutMs,
    });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([background?.close(), interactive?.close()]);
    await interactiveQueue?.obliterate({ force: true });
    await interactiveQueue?.close();
    await env?.close();
  });

  const passed = (queue: string) => ({
    engine: 'POSTGRESQL',
    outcome: 'passed',
    stage: 'none',
    code: 'none',
    queue,
  });

  it('counts a passed verification by engine and queue, and observes its latency', async () => {
    const before = await scrape();
    expect(sampleValue(before, 'dbconn_verifications_total', passed('verify'))).toBe(0);
    const durationsBefore =
      sampleValue(before, 'dbconn_verification_duration_seconds_count', {
        engine: 'POSTGRESQL',
        outcome: 'passed',
      }) ?? 0;

    const record = await insertConnection(env);
    const job = await enqueueVerification(env.queue, jobFor(record), env.config.verify);
    expect((await settled(env.queue, job.id as string)).job.returnvalue).toMatchObject({ status: 'active' });

    const after = await scrape();
    expect(sampleValue(after, 'dbconn_verifications_total', passed('verify'))).toBe(1);
    expect(
      sampleValue(after, 'dbconn_verification_duration_seconds_count', {
        engine: 'POSTGRESQL',
        outcome: 'passed',
      }),
    ).toBe(durationsBefore + 1);
    // Labels carry no ids, hosts or secrets.
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(text).not.toContain(record.id);
    expect(text).not.toContain(record.password);
    expect(text).not.toContain('127.0.0.1');
  });

  it('counts a failure by its stage and code, each attempt of a transient one', async () => {
    const missing = await insertConnection(env, { databaseName: `no_such_db_${randomUUID().slice(0, 8)}` });
    const refused = await insertConnection(env, { port: await closedPort() });
    const [a, b] = await Promise.all([
      enqueueVerification(env.queue, jobFor(missing), env.config.verify),
      enqueueVerification(env.queue, jobFor(refused), env.config.verify),
    ]);
    await Promise.all([settled(env.queue, a.id as string), settled(env.queue, b.id as string)]);

    const samples = await scrape();
    const failed = (stage: string, code: string) => ({
      engine: 'POSTGRESQL',
      outcome: 'failed',
      stage,
      code,
      queue: 'verify',
    });
    expect(sampleValue(samples, 'dbconn_verifications_total', failed('database', 'DATABASE_NOT_FOUND'))).toBe(
      1,
    );
    // VERIFY_ATTEMPTS=2: the refused port is dialled twice.
    expect(sampleValue(samples, 'dbconn_verifications_total', failed('tcp', 'TCP_REFUSED'))).toBe(2);
    expect(
      sampleValue(samples, 'dbconn_verification_duration_seconds_count', {
        engine: 'POSTGRESQL',
        outcome: 'failed',
      }),
    ).toBe(3);
  });

  it('counts an interactive test under the interactive queue', async () => {
    const before = sampleValue(await scrape(), 'dbconn_verifications_total', passed('interactive'));
    expect(before).toBe(0);
    const record = await insertConnection(env);
    const job = await interactiveQueue.add(JOB_NAMES.testConnection, {
      organizationId: record.organizationId,
      connectionId: record.id,
      dialVersion: record.dialVersion,
    });
    const { job: done } = await settled(interactiveQueue, job.id as string);
    expect(done.returnvalue).toMatchObject({ outcome: 'passed' });
    expect(sampleValue(await scrape(), 'dbconn_verifications_total', passed('interactive'))).toBe(1);
  });

  it('reports the waiting depth of each queue', async () => {
    await interactive.close();
    const record = await insertConnection(env);
    await interactiveQueue.add(JOB_NAMES.testConnection, {
      organizationId: record.organizationId,
      connectionId: record.id,
      dialVersion: record.dialVersion,
    });
    const samples = await scrape();
    expect(sampleValue(samples, 'dbconn_queue_jobs', { queue: 'interactive', state: 'waiting' })).toBe(1);
    expect(sampleValue(samples, 'dbconn_queue_jobs', { queue: 'verify', state: 'waiting' })).toBe(0);
    expect(sampleValue(samples, 'dbconn_queue_oldest_waiting_age_seconds', { queue: 'verify' })).toBe(0);
    expect(sampleValue(samples, 'dbconn_queue_oldest_waiting_age_seconds', { queue: 'interactive' })).toEqual(
      expect.any(Number),
    );
  });
});
