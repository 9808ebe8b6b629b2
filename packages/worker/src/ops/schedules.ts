import type { Config, Logger, Queue, Redis, VerifyConnectionJob } from '@dbconn/shared';
import { schedulePurge } from './history-purge.js';
import { reverifyTickMs, scheduleReverification } from './reverify.js';
import { scheduleSweeper } from './sweeper.js';

export interface ScheduleKeeperDeps {
  queue: Queue<VerifyConnectionJob>;
  /** The client the queue talks through: its `ready` event says Redis may have come back empty. */
  redis: Redis;
  config: Pick<Config, 'reverify' | 'sweep'>;
  log: Logger;
  /** How often the schedules are asserted even without a reconnect; defaults to scheduleCheckMs(config). */
  checkEveryMs?: number;
}

export interface ScheduleKeeper {
  /** Stops re-asserting (the schedules themselves stay in Redis for the other replicas). */
  stop(): Promise<void>;
}

/**
 * The shortest period among the schedules: asserting that often heals a lost schedule within
 * one of its own intervals (a FLUSHDB, a restart without persistence, a fail-over to an empty replica).
 */
export const scheduleCheckMs = (config: Pick<Config, 'reverify' | 'sweep'>) =>
  config.reverify.intervalMs === 0
    ? config.sweep.intervalMs
    : Math.min(config.sweep.intervalMs, reverifyTickMs(config.reverify.intervalMs));

/** Upserts the job schedulers (re-verification, the sweeper, the history purge); every upsert is idempotent. */
export async function assertSchedules(
  queue: Queue<VerifyConnectionJob>,
  config: Pick<Config, 'reverify' | 'sweep'>,
  log: Logger,
): Promise<void> {
  await scheduleReverification(queue, config, log);
  await scheduleSweeper(queue, config);
  await schedulePurge(queue);
}

/**
 * Keeps the job schedulers in Redis (docs/contract.md §9): asserts them now, again whenever the
 * client (re)connects, and on a timer, because Redis can lose them without any reconnect
 * (FLUSHDB, a fail-over to a replica that never had them). Resolves once the first assertion
 * succeeded; a later failure (Redis down) is logged and retried at the next event or tick.
 */
export async function keepSchedules(deps: ScheduleKeeperDeps): Promise<ScheduleKeeper> {
  const { queue, redis, config } = deps;
  const log = deps.log.child({ component: 'schedules' });
  const everyMs = deps.checkEveryMs ?? scheduleCheckMs(config);
  let asserting: Promise<void> | undefined;

  const reassert = (why: string) => {
    // One assertion at a time: a reconnect during a tick's assertion needs no second one.
    asserting ??= assertSchedules(queue, config, log)
      .then(() => log.debug({ why }, 'job schedulers asserted'))
      .catch((err: unknown) => log.warn({ err, why }, 'could not assert the job schedulers; will retry'))
      .finally(() => {
        asserting = undefined;
      });
  };

  await assertSchedules(queue, config, log);
  log.info(
    {
      reverifyIntervalMs: config.reverify.intervalMs,
      sweepIntervalMs: config.sweep.intervalMs,
      checkEveryMs: everyMs,
    },
    'job schedulers asserted; re-asserted on every reconnect and on a timer',
  );
  const onReady = () => reassert('redis-ready');
  redis.on('ready', onReady);
  const timer = setInterval(() => reassert('timer'), everyMs);
  timer.unref();

  return {
    async stop() {
      clearInterval(timer);
      redis.off('ready', onReady);
      await asserting;
    },
  };
}
