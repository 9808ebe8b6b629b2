import {
  type ConnectionStore,
  JOB_NAMES,
  type Logger,
  type Queue,
  type VerifyConnectionJob,
} from '@dbconn/shared';

/** One scheduler id for every replica: one purge per interval whichever worker takes it. */
export const PURGE_SCHEDULER_ID = 'purge-history';
/** Retention is counted in days: an hourly purge keeps at most an hour of entries past it. */
export const PURGE_INTERVAL_MS = 3_600_000;
/** Finished purge jobs kept in Redis for the dashboard. */
const KEEP_PURGE_JOBS = 24;

/** Upserts the hourly purge of the history (idempotent, like the other schedulers). */
export async function schedulePurge(queue: Queue<VerifyConnectionJob>): Promise<void> {
  await queue.upsertJobScheduler(
    PURGE_SCHEDULER_ID,
    { every: PURGE_INTERVAL_MS },
    {
      name: JOB_NAMES.purgeHistory,
      opts: {
        attempts: 1,
        removeOnComplete: { count: KEEP_PURGE_JOBS },
        removeOnFail: { count: KEEP_PURGE_JOBS },
      },
    },
  );
}

/** The purge job: deletes what the retention no longer keeps and reports how many entries went. */
export const createPurgeHistoryProcessor =
  (deps: { store: ConnectionStore; log: Logger }) => async (): Promise<{ deleted: number }> => {
    const deleted = await deps.store.purgeHistory();
    if (deleted > 0) deps.log.info({ deleted }, 'history entries past the retention deleted');
    return { deleted };
  };
