import {
  type Config,
  type ConnectionRecord,
  type ConnectionStore,
  JOB_NAMES,
  LIVE_JOB_STATES,
  type Logger,
  type Queue,
  type VerifyConnectionJob,
  VerifyConnectionJobSchema,
} from '@dbconn/shared';

/**
 * The one job scheduler of periodic re-verification. Every worker replica upserts the same id, so
 * running several replicas never multiplies the ticks.
 */
export const REVERIFY_SCHEDULER_ID = 'reverify-active';

/** Ticks are at most this far apart, so a due connection waits at most about this long. */
export const MAX_TICK_MS = 5 * 60_000;

/** Finished tick jobs kept in Redis for the dashboard. */
const KEEP_TICK_JOBS = 100;

/** States in which a job will still run: the connection is already on its way to a new result. */

/** How often the tick fires: a tenth of the interval, at most MAX_TICK_MS. */
export const reverifyTickMs = (intervalMs: number) => Math.min(Math.floor(intervalMs / 10), MAX_TICK_MS);

/**
 * Deterministic id of the periodic job that re-checks one verification: the same (connection,
 * dialled version, last verification) gives the same id, so a second tick — on this replica or
 * another, or while the first tick's jobs still wait — cannot enqueue it twice. A new verification
 * (or a redial) makes a new id. BullMQ forbids `:` in custom ids.
 */
export const periodicJobId = (record: Pick<ConnectionRecord, 'id' | 'dialVersion' | 'lastVerifiedAt'>) =>
  `verify-${record.id}-v${record.dialVersion}-p${record.lastVerifiedAt?.getTime() ?? 0}`;

/**
 * BullMQ priority of periodic jobs. Jobs without one (created, updated, swept) always run first;
 * a periodic backlog never delays a connection someone is waiting for.
 */
export const PERIODIC_PRIORITY = 10;

export interface ReverifyDeps {
  store: Pick<ConnectionStore, 'findDueForReverification'>;
  /** The verify queue: periodic verifications go through the normal verify-connection processor. */
  queue: Queue<VerifyConnectionJob>;
  config: Pick<Config, 'verify' | 'reverify'>;
  log: Logger;
}

export interface ReverifyReport {
  /** Connections whose last verification was older than the interval (at most the batch size). */
  due: number;
  /** Periodic verifications enqueued by this tick. */
  enqueued: number;
  /** Due connections whose periodic job from an earlier tick is still waiting or running. */
  live: number;
}

/**
 * One tick of periodic re-verification (docs/contract.md §9): enqueue a `periodic` verification for each live
 * `active` or `failed` connection whose last verification is older than `reverify.intervalMs`,
 * oldest first, at most `reverify.batchSize` per tick. Their delays spread them over the tick, so
 * they do not all dial at once. `failed` ones are included so a database fixed on its side
 * recovers without anyone touching the connection.
 */
export async function reverifyDue(deps: ReverifyDeps, now: Date = new Date()): Promise<ReverifyReport> {
  const { intervalMs, batchSize } = deps.config.reverify;
  const log = deps.log.child({ component: 'reverify' });
  if (intervalMs === 0) {
    // Another replica still runs the scheduler with an interval; this one's configuration wins here.
    log.debug('periodic re-verification is off (REVERIFY_INTERVAL_MS=0); tick ignored');
    return { due: 0, enqueued: 0, live: 0 };
  }
  const due = await deps.store.findDueForReverification(new Date(now.getTime() - intervalMs), batchSize);
  const spacingMs = due.length > 0 ? Math.floor(reverifyTickMs(intervalMs) / due.length) : 0;
  const report: ReverifyReport = { due: due.length, enqueued: 0, live: 0 };

  for (const [index, record] of due.entries()) {
    const jobId = periodicJobId(record);
    const existing = await deps.queue.getJob(jobId);
    if (existing) {
      if (LIVE_JOB_STATES.has(await existing.getState())) {
        report.live++;
        continue;
      }
      // It ended without a new result (e.g. the store was down): remove it, or the add is a no-op.
      await existing.remove();
    }
    const data = VerifyConnectionJobSchema.parse({
      connectionId: record.id,
      organizationId: record.organizationId,
      dialVersion: record.dialVersion,
      reason: 'periodic',
    });
    // enqueueVerification's retry policy, plus a delay (its options carry no delay) and a lower
    // priority: a connection just created or changed is verified before the periodic backlog.
    await deps.queue.add(JOB_NAMES.verifyConnection, data, {
      jobId,
      delay: index * spacingMs,
      priority: PERIODIC_PRIORITY,
      attempts: deps.config.verify.attempts,
      backoff: { type: 'exponential', delay: deps.config.verify.backoffMs },
    });
    report.enqueued++;
  }
  if (report.due > 0) log.info({ ...report, spacingMs }, 'periodic re-verification enqueued');
  return report;
}

/** The handler of the `reverify-active` job on the verify queue. */
export const createReverifyActiveProcessor = (deps: ReverifyDeps) => async (): Promise<ReverifyReport> =>
  reverifyDue(deps);

/**
 * Starts (or, with REVERIFY_INTERVAL_MS=0, removes) the job scheduler that fires a tick every
 * `reverifyTickMs(interval)`. Upserting is idempotent and keeps the next tick's time, so every
 * replica calls it at start and whenever Redis may have lost it (schedules.ts); they must all be
 * given the same interval, or the last one to assert it sets it.
 */
export async function scheduleReverification(
  queue: Queue<VerifyConnectionJob>,
  config: Pick<Config, 'reverify'>,
  log: Logger,
): Promise<void> {
  const { intervalMs } = config.reverify;
  if (intervalMs === 0) {
    const removed = await queue.removeJobScheduler(REVERIFY_SCHEDULER_ID);
    log.debug({ removedScheduler: removed }, 'periodic re-verification is off');
    return;
  }
  const every = reverifyTickMs(intervalMs);
  await queue.upsertJobScheduler(
    REVERIFY_SCHEDULER_ID,
    { every },
    {
      name: JOB_NAMES.reverifyActive,
      opts: {
        attempts: 1,
        removeOnComplete: { count: KEEP_TICK_JOBS },
        removeOnFail: { count: KEEP_TICK_JOBS },
      },
    },
  );
  log.debug({ intervalMs, tickMs: every }, 'periodic re-verification scheduled');
}
