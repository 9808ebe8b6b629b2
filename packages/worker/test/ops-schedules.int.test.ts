import {
  createLogger,
  createRedis,
  createVerifyQueue,
  JOB_NAMES,
  loadConfig,
  type Queue,
  type StandaloneRedis,
} from '@dbconn/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PURGE_SCHEDULER_ID } from '../src/ops/history-purge.js';
import { REVERIFY_SCHEDULER_ID } from '../src/ops/reverify.js';
import { keepSchedules, type ScheduleKeeper, scheduleCheckMs } from '../src/ops/schedules.js';
import { SWEEP_SCHEDULER_ID } from '../src/ops/sweeper.js';
import { type RunningWorker, startWorker } from '../src/worker.js';
import { type Env, insertConnection, openEnv, waitUntilReady } from './e2e-fixtures.js';
import { type RedisFixture, startRedis } from './fixtures/index.js';

/** A sweep every second; re-verification at its shortest interval (a tick every 6 s). */
const SETTINGS = {
  SWEEP_INTERVAL_MS: '1000',
  SWEEP_STALE_AFTER_MS: '100',
  REVERIFY_INTERVAL_MS: '60000',
};
/** Longer than any test here: only a reconnect can re-assert within it. */
const NEVER_MS = 3_600_000;

const schedulerIds = async (queue: Queue) =>
  (await queue.getJobSchedulers()).map((scheduler) => scheduler.key).sort();

/** FLUSHDB of this test's own keys only: the shared Redis serves other tests at the same time. */
async function deletePrefix(redis: StandaloneRedis, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<
    string[]
  >) {
    if (keys.length > 0) deleted += await redis.del(...keys);
  }
  return deleted;
}

describe('job schedulers lost by Redis heal (shared Redis, own prefix)', () => {
  let env: Env;
  let keeper: ScheduleKeeper | undefined;
  let running: RunningWorker | undefined;

  beforeAll(async () => {
    env = await openEnv(SETTINGS);
  });
  afterAll(async () => {
    await keeper?.stop();
    await running?.close();
    await env?.close();
  });

  it('every scheduler is back within one interval after their keys are deleted, and the sweeper runs from its scheduler', async () => {
    keeper = await keepSchedules({ queue: env.queue, redis: env.redis, config: env.config, log: env.log });
    expect(await schedulerIds(env.queue)).toEqual(
      [REVERIFY_SCHEDULER_ID, SWEEP_SCHEDULER_ID, PURGE_SCHEDULER_ID].sort(),
    );
    expect(await env.queue.getJobScheduler(SWEEP_SCHEDULER_ID)).toMatchObject({
      name: JOB_NAMES.sweepStranded,
      every: 1_000,
    });

    expect(await deletePrefix(env.redis, env.config.redis.prefix)).toBeGreaterThan(0);
    expect(await schedulerIds(env.queue)).toEqual([]);

    // The check runs every sweep interval (1 s here): back within that, plus the poll's slack.
    expect(scheduleCheckMs(env.config)).toBe(1_000);
    await expect
      .poll(() => schedulerIds(env.queue), { timeout: 5_000, interval: 100 })
      .toEqual([REVERIFY_SCHEDULER_ID, SWEEP_SCHEDULER_ID, PURGE_SCHEDULER_ID].sort());

    // A connection stranded in pending with no job: the scheduled sweep re-enqueues it and a
    // worker verifies it, with nobody calling the sweeper by hand.
    const stranded = await insertConnection(env, { statusChangedAt: new Date(Date.now() - 60_000) });
    running = await startWorker({ config: env.config, log: env.log, store: env.store });
    await expect
      .poll(
        async () => (await env.store.findById({ organizationId: env.organizationId }, stranded.id))?.status,
        {
          timeout: 20_000,
          interval: 200,
        },
      )
      .toBe('active');
  });
});

describe('job schedulers after Redis restarts empty (a private redis-server)', () => {
  let redisServer: RedisFixture;
  let redis: StandaloneRedis;
  let queue: Queue;
  let keeper: ScheduleKeeper | undefined;
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...SETTINGS });
  const log = createLogger({ level: 'silent', name: 'schedules-test' });

  beforeAll(async () => {
    redisServer = await startRedis();
    // The worker process's client settings: it reconnects for ever and says `ready` each time.
    redis = createRedis(redisServer.url);
    redis.on('error', () => {});
    await waitUntilReady(redis);
    queue = createVerifyQueue(redis, config.redis.prefix);
    queue.on('error', () => {});
  });
  afterEach(async () => {
    await keeper?.stop();
  });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await redisServer?.stop();
  });

  it('are asserted again as soon as the client reconnects', async () => {
    keeper = await keepSchedules({ queue, redis, config, log, checkEveryMs: NEVER_MS });
    expect(await schedulerIds(queue)).toEqual(
      [REVERIFY_SCHEDULER_ID, SWEEP_SCHEDULER_ID, PURGE_SCHEDULER_ID].sort(),
    );

    await redisServer.kill();
    await redisServer.restart();

    await expect
      .poll(() => schedulerIds(queue).catch(() => []), { timeout: 15_000, interval: 200 })
      .toEqual([REVERIFY_SCHEDULER_ID, SWEEP_SCHEDULER_ID, PURGE_SCHEDULER_ID].sort());
  });
});
