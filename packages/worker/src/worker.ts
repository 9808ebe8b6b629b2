import { hostname } from 'node:os';
import {
  type Config,
  type ConnectionStore,
  createRedis,
  createVerifyQueue,
  type Keyring,
  type Logger,
  QUEUE_NAMES,
  type QueueName,
  type Redis,
  telemetryOption,
} from '@dbconn/shared';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import {
  assertEveryJobHasAHandler,
  createVerifyQueueHandlers,
  type JobHandler,
  type QueueHandlers,
} from './processors/index.js';

/**
 * A job's lock must outlive the verification's own deadline, so a live job is never taken for
 * stalled even if a lock renewal is missed; the margin covers the store writes around the dial.
 */
export const LOCK_MARGIN_MS = 5_000;

/**
 * How often BullMQ looks for jobs whose worker died (lock expired): a SIGKILLed worker's job is
 * back in the queue within lockDuration + about one interval. One small Lua script per interval.
 */
export const STALLED_INTERVAL_MS = 5_000;

/** Default time close() gives in-flight verifications before aborting them. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

export interface WorkerDeps<Q extends QueueName = 'verify'> {
  config: Config;
  log: Logger;
  store: ConnectionStore;
  /** Defaults to the verify queue. */
  queue?: Q;
  /** Defaults to the verify queue's processors (processors/index.ts); required for another queue. */
  handlers?: QueueHandlers<Q>;
  /** Defaults to `worker.concurrency` of the config. */
  concurrency?: number;
  /** Defaults to the master keys of the config. */
  keyring?: Keyring;
  /** How long close() waits for in-flight jobs before aborting their verifications. */
  shutdownGraceMs?: number;
}

export interface RunningWorker {
  worker: Worker;
  /**
   * Stops taking jobs, lets in-flight ones finish for up to the grace period, then aborts their
   * verifications (they go back to the queue without spending an attempt) and closes the worker's
   * Redis connection. The store belongs to the caller and stays open.
   */
  close(): Promise<void>;
}

/** Starts consuming a queue (the verify queue by default); resolves once connected to Redis. */
export async function startWorker<Q extends QueueName = 'verify'>(
  deps: WorkerDeps<Q>,
): Promise<RunningWorker> {
  const { config, log } = deps;
  const queueName: QueueName = deps.queue ?? QUEUE_NAMES.verify;
  const concurrency = deps.concurrency ?? config.worker.concurrency;
  const useDefaultHandlers = !deps.handlers && queueName === QUEUE_NAMES.verify;
  // Checked before touching Redis; the default verify handlers are complete by type.
  if (!useDefaultHandlers) assertEveryJobHasAHandler(queueName, deps.handlers ?? {});

  const connection: Redis = createRedis(config.redis, { blocking: true, log });
  // The default handlers' re-verification tick enqueues into the verify queue (on this connection).
  const ownQueue = useDefaultHandlers ? createVerifyQueue(connection, config.redis.prefix) : undefined;
  const handlers: Partial<Record<string, JobHandler>> = ownQueue
    ? createVerifyQueueHandlers({
        store: deps.store,
        keyring: deps.keyring ?? { keys: config.secrets.keys },
        config,
        log,
        queue: ownQueue,
      })
    : (deps.handlers ?? {});

  // Declares three parameters: BullMQ passes the abort signal only to processors that take it.
  const processor = async (job: Job<unknown, unknown>, token?: string, signal?: AbortSignal) => {
    const handler = Object.hasOwn(handlers, job.name) ? handlers[job.name] : undefined;
    if (!handler) throw new UnrecoverableError(`no handler for job ${job.name}`);
    return handler(job, token, signal);
  };

  const worker = new Worker(queueName, processor, {
    connection,
    prefix: config.redis.prefix,
    concurrency,
    lockDuration: config.verify.timeoutMs + LOCK_MARGIN_MS,
    stalledInterval: STALLED_INTERVAL_MS,
    // A job whose worker died twice fails; the sweeper then re-enqueues its connection.
    maxStalledCount: 1,
    name: `${hostname()}:${process.pid}`,
    // While tracing runs: each job's `process` span, a child of the span that enqueued it.
    ...telemetryOption(),
  });

  worker.on('error', (err) => log.error({ err }, 'worker error'));
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'job stalled (its worker stopped); back in the queue'));
  worker.on('failed', (job, err) => {
    const attempts = job?.opts.attempts ?? 1;
    const willRetry = job !== undefined && job.attemptsMade < attempts && err.name !== 'UnrecoverableError';
    // A retry was already logged by its processor with the details; a final failure is news.
    log[willRetry ? 'debug' : 'warn'](
      { jobId: job?.id, jobName: job?.name, attemptsMade: job?.attemptsMade, attempts, reason: err.message },
      willRetry ? 'job attempt failed; retrying' : 'job failed',
    );
  });

  await worker.waitUntilReady();
  log.info({ queue: queueName, prefix: config.redis.prefix, concurrency }, 'worker started');

  const graceMs = deps.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const closed = worker.close();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace-over'>((resolve) => {
        timer = setTimeout(() => resolve('grace-over'), graceMs);
      });
      if ((await Promise.race([closed.then(() => 'closed' as const), graceOver])) === 'grace-over') {
        log.warn({ graceMs }, 'in-flight verifications did not finish in time; aborting them');
        worker.cancelAllJobs('worker shutting down');
      }
      await closed;
      clearTimeout(timer);
      await ownQueue?.close();
      await connection.quit().catch(() => connection.disconnect());
      log.info('worker closed');
    })();
    return closing;
  };

  return { worker, close };
}
