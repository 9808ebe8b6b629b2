import { randomUUID } from 'node:crypto';
import {
  type Config,
  type ConnectionStore,
  enqueueVerification,
  type Logger,
  type Queue,
  type Redis,
  type VerifyConnectionJob,
  verifyJobId,
} from '@dbconn/shared';

/** Records read per query; a sweep reads more batches while whole batches get re-enqueued. */
export const SWEEP_BATCH_SIZE = 200;
/** Upper bound on batches per sweep, so one sweep cannot run for ever on a huge backlog. */
export const SWEEP_MAX_BATCHES = 20;
/**
 * Lifetime of the sweep lock. It is released when the sweep ends; the TTL only matters when the
 * holder dies mid-sweep (then no replica sweeps for at most this long).
 */
export const SWEEP_LOCK_TTL_MS = 30_000;

/** States in which a job will still run: its connection is not stranded, just waiting its turn. */
const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** The Redis key replicas compete for; outside BullMQ's `<prefix>:<queue>:*` key space. */
export const sweepLockKey = (prefix: string) => `${prefix}:sweeper:lock`;

/** Deletes the lock only if this sweep still owns it (another may hold it after a TTL expiry). */
const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Gives a connection left pending/verifying a background verification of its dialled version:
 * `live` when a job for that version is still waiting or running (nothing to do), `gone` when the
 * connection was deleted, changed or settled meanwhile, `requeued` when it is pending with a new job.
 */
export async function requeueConnection(
  deps: Pick<SweeperDeps, 'store' | 'queue'> & { config: Pick<Config, 'verify'> },
  job: VerifyConnectionJob,
): Promise<'live' | 'gone' | 'requeued'> {
  const existing = await deps.queue.getJob(verifyJobId(job));
  const state = existing ? await existing.getState() : 'missing';
  if (LIVE_JOB_STATES.has(state)) return 'live';
  if (!(await deps.store.requeue(job.organizationId, job.connectionId, job.dialVersion))) return 'gone';
  // A finished job keeps its id; remove it, or the new add with the same id would be a no-op.
  if (existing) await existing.remove();
  await enqueueVerification(deps.queue, job, deps.config.verify);
  return 'requeued';
}

export interface SweeperDeps {
  config: Pick<Config, 'sweep' | 'verify' | 'redis'>;
  log: Logger;
  store: ConnectionStore;
  queue: Queue<VerifyConnectionJob>;
  /** A non-blocking client for the lock (the queue's own client will do). */
  redis: Redis;
}

export interface SweepReport {
  /** False when another replica held the lock: this one did nothing. */
  ran: boolean;
  /** Connections given a new job. */
  requeued: number;
  /** Stranded-looking connections whose job is still waiting, delayed or running. */
  live: number;
}

export interface Sweeper {
  /** One pass: re-enqueue every connection left pending/verifying too long without a live job. */
  sweepOnce(now?: Date): Promise<SweepReport>;
  /** Sweeps every `sweep.intervalMs` until stop(). */
  start(): void;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * The sweeper (spec §9): a lost job never strands a record. A connection stays pending/verifying
 * past `sweep.staleAfterMs` when its enqueue failed (Redis down at create), its job failed on a
 * store error, or its job stalled more often than BullMQ allows. Only one replica sweeps at a time.
 */
export function createSweeper(deps: SweeperDeps): Sweeper {
  const { config, store, queue, redis } = deps;
  const log = deps.log.child({ component: 'sweeper' });
  const lockKey = sweepLockKey(config.redis.prefix);

  async function sweepBatch(olderThan: Date): Promise<{ requeued: number; live: number; full: boolean }> {
    const stranded = await store.findStranded(olderThan, SWEEP_BATCH_SIZE);
    let requeued = 0;
    let live = 0;
    for (const record of stranded) {
      const outcome = await requeueConnection(
        { store, queue, config },
        {
          connectionId: record.id,
          organizationId: record.organizationId,
          dialVersion: record.dialVersion,
          reason: 'sweep',
        },
      );
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
    return { requeued, live, full: stranded.length === SWEEP_BATCH_SIZE };
  }

  async function sweepOnce(now: Date = new Date()): Promise<SweepReport> {
    const token = randomUUID();
    const acquired = await redis.set(lockKey, token, 'PX', SWEEP_LOCK_TTL_MS, 'NX');
    if (acquired !== 'OK') {
      log.debug('another replica is sweeping');
      return { ran: false, requeued: 0, live: 0 };
    }
    try {
      const olderThan = new Date(now.getTime() - config.sweep.staleAfterMs);
      const report: SweepReport = { ran: true, requeued: 0, live: 0 };
      for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch++) {
        const { requeued, live, full } = await sweepBatch(olderThan);
        report.requeued += requeued;
        report.live += live;
        // Re-enqueued records leave the stranded set; live ones stay at its head, so a batch that
        // re-enqueued nothing would only be read again.
        if (!full || requeued === 0) break;
      }
      if (report.requeued > 0 || report.live > 0) log.info(report, 'sweep done');
      return report;
    } finally {
      await redis.eval(RELEASE_LOCK, 1, lockKey, token);
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweepOnce()
        .catch((err: unknown) => log.error({ err }, 'sweep failed; will try again next interval'))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, config.sweep.intervalMs);
  };

  return {
    sweepOnce,
    start() {
      stopped = false;
      if (!timer) schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
