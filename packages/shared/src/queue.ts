import { Queue } from 'bullmq';
import {
  type InteractiveJob,
  JOB_NAMES,
  QUEUE_NAMES,
  type VerifyConnectionJob,
  VerifyConnectionJobSchema,
  verifyJobId,
} from './jobs.js';
import type { Redis } from './redis.js';
import { telemetryOption } from './telemetry/tracing.js';

export function createInteractiveQueue(connection: Redis, prefix: string): Queue<InteractiveJob> {
  return new Queue<InteractiveJob>(QUEUE_NAMES.interactive, {
    connection,
    prefix,
    ...telemetryOption(),
    // Results are read from the completion event at once; keep few for the dashboard.
    defaultJobOptions: { removeOnComplete: { count: 200 }, removeOnFail: { count: 1000 }, attempts: 1 },
  });
}

export function createVerifyQueue(connection: Redis, prefix: string): Queue<VerifyConnectionJob> {
  return new Queue<VerifyConnectionJob>(QUEUE_NAMES.verify, {
    connection,
    prefix,
    ...telemetryOption(),
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
