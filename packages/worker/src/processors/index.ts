import {
  type Config,
  JOB_NAMES,
  QUEUE_NAMES,
  type Queue,
  type QueueName,
  type VerifyConnectionJob,
} from '@dbconn/shared';
import type { Job } from 'bullmq';
import { createPurgeHistoryProcessor } from '../ops/history-purge.js';
import { createReverifyActiveProcessor } from '../ops/reverify.js';
import { createSweepStrandedProcessor } from '../ops/sweeper.js';
import {
  createVerifyConnectionProcessor,
  type VerifyConnectionProcessorDeps,
} from './verify-connection.processor.js';

/** The job names each queue carries: a worker on a queue needs a processor for every one. */
export const QUEUE_JOBS = {
  [QUEUE_NAMES.verify]: [
    JOB_NAMES.verifyConnection,
    JOB_NAMES.reverifyActive,
    JOB_NAMES.sweepStranded,
    JOB_NAMES.purgeHistory,
  ],
  [QUEUE_NAMES.interactive]: [JOB_NAMES.testConnection, JOB_NAMES.testSettings, JOB_NAMES.discoverSchema],
  [QUEUE_NAMES.webhooks]: [JOB_NAMES.deliverWebhook],
} as const satisfies Record<QueueName, readonly string[]>;

export type QueueJobName<Q extends QueueName> = (typeof QUEUE_JOBS)[Q][number];

/** A job processor as BullMQ calls it; the signal aborts when the worker cancels the job. */
export type JobHandler = (
  job: Job<unknown, unknown>,
  token?: string,
  signal?: AbortSignal,
) => Promise<unknown>;

/** One processor per job name of a queue. The type makes a missing handler a compile error. */
export type QueueHandlers<Q extends QueueName> = Record<QueueJobName<Q>, JobHandler>;

export interface VerifyQueueDeps extends VerifyConnectionProcessorDeps {
  config: Pick<Config, 'verify' | 'egress' | 'reverify' | 'sweep'>;
  /** The verify queue itself: re-verification ticks and sweeps enqueue verifications into it. */
  queue: Queue<VerifyConnectionJob>;
}

export function createVerifyQueueHandlers(deps: VerifyQueueDeps): QueueHandlers<'verify'> {
  return {
    [JOB_NAMES.verifyConnection]: createVerifyConnectionProcessor(deps),
    [JOB_NAMES.reverifyActive]: createReverifyActiveProcessor(deps),
    [JOB_NAMES.sweepStranded]: createSweepStrandedProcessor(deps),
    [JOB_NAMES.purgeHistory]: createPurgeHistoryProcessor(deps),
  };
}

/**
 * A worker refuses to start when a job name of its queue has no handler (immich-style): the
 * check the type makes at build time, repeated at start for maps built dynamically or cast.
 */
export function assertEveryJobHasAHandler(
  queue: QueueName,
  handlers: Partial<Record<string, JobHandler>>,
): void {
  const missing = QUEUE_JOBS[queue].filter(
    (name: string) => !Object.hasOwn(handlers, name) || typeof handlers[name] !== 'function',
  );
  if (missing.length > 0) {
    throw new Error(`no handler for job ${missing.join(', ')} of queue ${queue}; refusing to start`);
  }
}

export * from './verify-connection.processor.js';
