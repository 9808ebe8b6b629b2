import {
  type Config,
  type ConnectionRecord,
  type ConnectionStore,
  enqueueVerification,
  JOB_NAMES,
  LIVE_JOB_STATES,
  type Logger,
  type Queue,
  type StrandedCursor,
  type VerifyConnectionJob,
  verifyJobId,
} from '@dbconn/shared';
import { periodicJobId } from './reverify.js';

/** Records read per query; a sweep reads the next page while a page comes back full. */
export const SWEEP_BATCH_SIZE = 200;
/** Upper bound on batches per sweep, so one sweep cannot run for ever on a huge backlog. */
export const SWEEP_MAX_BATCHES = 20;
/**
 * The one job scheduler of the sweeper. Every replica upserts the same id, so however many run,
 * one sweep fires per interval (BullMQ hands each tick's job to one worker: no lock of our own).
 */
export const SWEEP_SCHEDULER_ID = 'sweep-stranded';

/** Finished sweep jobs kept in Redis for the dashboard. */
const KEEP_SWEEP_JOBS = 100;

/** No staleness condition on a requeue: the caller itself just left the record verifying. */
const ANY_TIME = new Date(8.64e15);

/**
 * Gives a connection left pending/verifying a background verification of its dialled version:
 * `live` when a job that will verify that version is still waiting or running — its own, or a
 * periodic one — (nothing to do); `gone` when the connection was deleted, changed, settled or taken
 * by a job since `staleBefore`; `requeued` when it is pending with a new job.
 */
export async function requeueConnection(
  deps: Pick<SweeperDeps, 'store' | 'queue'> & { config: Pick<Config, 'verify'> },
  record: Pick<ConnectionRecord, 'id' | 'organizationId' | 'dialVersion' | 'lastVerifiedAt'>,
  reason: VerifyConnectionJob['reason'],
  staleBefore: Date = ANY_TIME,
): Promise<'live' | 'gone' | 'requeued'> {
  const job = {
    connectionId: record.id,
    organizationId: record.organizationId,
    dialVersion: record.dialVersion,
    reason,
  };
  const existing = await deps.queue.getJob(verifyJobId(job));
  const periodic = await deps.queue.getJob(periodicJobId(record));
  for (const candidate of [existing, periodic]) {
    if (candidate && LIVE_JOB_STATES.has(await candidate.getState())) return 'live';
  }
  if (!(await deps.store.requeue(job.organizationId, job.connectionId, job.dialVersion, staleBefore))) {
    return 'gone';
  }
  // A finished job keeps its id; remove it, or the new add with the same id would be a no-op.
  if (existing) await existing.remove();
  await enqueueVerification(deps.queue, job, deps.config.verify);
  return 'requeued';
}

export interface SweeperDeps {
  config: Pick<Config, 'sweep' | 'verify'>;
  log: Logger;
  store: ConnectionStore;
  queue: Queue<VerifyConnectionJob>;
}

export interface SweepReport {
  /** Connections given a new job. */
  requeued: number;
  /** Stranded-looking connections whose job is still waiting, delayed or running. */
  live: number;
}

export interface Sweeper {
  /** One pass: re-enqueue every connection left pending/verifying too long without a live job. */
  sweepOnce(now?: Date): Promise<SweepReport>;
}

/**
 * The sweeper (docs/contract.md §9): a lost job never strands a record. A connection stays pending/verifying
 * past `sweep.staleAfterMs` when its enqueue failed (Redis down at create), its job failed on a
 * store error, or its job stalled more often than BullMQ allows. Its passes are jobs of the
 * `sweep-stranded` scheduler (scheduleSweeper), so one replica sweeps per interval.
 */
export function createSweeper(deps: SweeperDeps): Sweeper {
  const { config, store, queue } = deps;
  const log = deps.log.child({ component: 'sweeper' });

  /** One page of stranded records from `after` on; `next` is where the following page starts. */
  async function sweepBatch(
    olderThan: Date,
    after: StrandedCursor | undefined,
  ): Promise<{ requeued: number; live: number; next?: StrandedCursor }> {
    const stranded = await store.findStranded(olderThan, SWEEP_BATCH_SIZE, after);
    let requeued = 0;
    let live = 0;
    for (const record of stranded) {
      let outcome: Awaited<ReturnType<typeof requeueConnection>>;
      try {
        outcome = await requeueConnection({ store, queue, config }, record, 'sweep', olderThan);
      } catch (err) {
        // One record's trouble (e.g. its job changing state under us) must not end the sweep.
        log.warn({ err, connectionId: record.id }, 'could not re-enqueue; the next sweep tries again');
        continue;
      }
      if (outcome === 'live') live++;
      if (outcome !== 'requeued') continue;
      requeued++;
      log.info(
        {
          connectionId: record.id,
          organizationId: record.organizationId,
          dialVersion: record.dialVersion,
        },
        'stranded connection re-enqueued',
      );
    }
    const last = stranded.at(-1);
    return stranded.length === SWEEP_BATCH_SIZE && last
      ? { requeued, live, next: { statusChangedAt: last.statusChangedAt, id: last.id } }
      : { requeued, live };
  }

  async function sweepOnce(now: Date = new Date()): Promise<SweepReport> {
    const olderThan = new Date(now.getTime() - config.sweep.staleAfterMs);
    const report: SweepReport = { requeued: 0, live: 0 };
    // Paged by position, so records left alone (a live job) do not hide the ones behind them.
    let after: StrandedCursor | undefined;
    for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch++) {
      const { requeued, live, next } = await sweepBatch(olderThan, after);
      report.requeued += requeued;
      report.live += live;
      if (!next) break;
      after = next;
    }
    if (report.requeued > 0 || report.live > 0) log.info(report, 'sweep done');
    return report;
  }

  return { sweepOnce };
}

/** The handler of the `sweep-stranded` job on the verify queue: one pass of the sweeper. */
export const createSweepStrandedProcessor = (deps: SweeperDeps) => {
  const sweeper = createSweeper(deps);
  return async (): Promise<SweepReport> => sweeper.sweepOnce();
};

/**
 * Starts (or re-asserts) the job scheduler that fires a sweep every `sweep.intervalMs`. Upserting
 * is idempotent and keeps the next tick's time, so replicas call it at start and whenever Redis may
 * have lost it (schedules.ts).
 */
export async function scheduleSweeper(
  queue: Queue<VerifyConnectionJob>,
  config: Pick<Config, 'sweep'>,
): Promise<void> {
  await queue.upsertJobScheduler(
    SWEEP_SCHEDULER_ID,
    { every: config.sweep.intervalMs },
    {
      name: JOB_NAMES.sweepStranded,
      opts: {
        attempts: 1,
        removeOnComplete: { count: KEEP_SWEEP_JOBS },
        removeOnFail: { count: KEEP_SWEEP_JOBS },
      },
    },
  );
}
