import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import {
  type InteractiveJob,
  JOB_NAMES,
  QUEUE_NAMES,
  type VerifyConnectionJob,
  VerifyConnectionJobSchema,
  verifyJobId,
} from './jobs.js';

/**
 * A Redis client as BullMQ wants it. bullmq 6 loaded as ESM cannot build its own client, so every
 * queue and worker is handed one. Workers need `maxRetriesPerRequest: null` (blocking commands).
 */
export function createRedis(url: string, options: { blocking?: boolean } = {}): Redis {
  const opts: RedisOptions = {
    maxRetriesPerRequest: options.blocking ? null : 1,
    enableOfflineQueue: !!options.blocking,
    lazyConnect: false,
  };
  return new Redis(url, opts);
}

/**
 * A client that is connected: resolves on `ready`, rejects on the first connection error (so a
 * process that cannot reach Redis at start stops with the reason instead of hanging).
 */
export async function connectRedis(url: string, options: { blocking?: boolean } = {}): Promise<Redis> {
  const redis = createRedis(url, options);
  if (redis.status === 'ready') return redis;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      redis.off('ready', onReady);
      redis.disconnect();
      reject(err);
    };
    const onReady = () => {
      redis.off('error', onError);
      resolve();
    };
    redis.once('ready', onReady);
    redis.once('error', onError);
  });
  return redis;
}

export function createInteractiveQueue(connection: Redis, prefix: string): Queue<InteractiveJob> {
  return new Queue<InteractiveJob>(QUEUE_NAMES.interactive, {
    connection,
    prefix,
    // Results are read from the completion event at once; keep few for the dashboard.
    defaultJobOptions: { removeOnComplete: { count: 200 }, removeOnFail: { count: 1000 }, attempts: 1 },
  });
}

export function createVerifyQueue(connection: Redis, prefix: string): Queue<VerifyConnectionJob> {
  return new Queue<VerifyConnectionJob>(QUEUE_NAMES.verify, {
    connection,
    prefix,
    defaultJobOptions: {
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    },
  });
}

/** Retry policy of a verification job: transient failures are retried with exponential backoff. */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}

/** Enqueues one verification; the id is deterministic so a duplicate enqueue is a no-op. */
export async function enqueueVerification(
  queue: Queue<VerifyConnectionJob>,
  job: VerifyConnectionJob,
  retry: RetryPolicy,
  options: { jobId?: string } = {},
) {
  const data = VerifyConnectionJobSchema.parse(job);
  return queue.add(JOB_NAMES.verifyConnection, data, {
    jobId: options.jobId ?? verifyJobId(data),
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
  });
}

/** Job states in which a job will still run: whatever it is for is not stranded, only waiting its turn. */
export const LIVE_JOB_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
]);

export type { Queue } from 'bullmq';
export type { Redis } from 'ioredis';
