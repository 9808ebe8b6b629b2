import { randomUUID } from 'node:crypto';
import {
  AppError,
  type InteractiveJob,
  type JOB_NAMES,
  type Queue,
  RETRY_AFTER_SECONDS,
} from '@dbconn/shared';
import type { QueueEvents } from 'bullmq';

/** Jobs of the interactive queue (the others belong to the background verify queue). */
type JobName = (typeof JOB_NAMES)[Exclude<keyof typeof JOB_NAMES, 'verifyConnection' | 'reverifyActive'>];

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Runs a job on the interactive queue and waits for its result, bounded. One QueueEvents for the
 * whole process, dispatched by job id (one listener per waiting request would not scale; see
 * ENV.md). The API never dials a database itself: the worker does and returns the result.
 */
export class InteractiveClient {
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    private readonly queue: Queue<InteractiveJob>,
    events: QueueEvents,
    private readonly timeoutMs: number,
  ) {
    events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, (w) => w.resolve(returnvalue)));
    // failedReason holds only what the worker chose to say (codes, never settings or secrets).
    events.on('failed', ({ jobId, failedReason }) =>
      this.settle(jobId, (w) =>
        w.reject(
          new AppError('INTERNAL', 'The worker could not run the job', {
            cause: new Error(`interactive job ${jobId} failed: ${failedReason}`),
          }),
        ),
      ),
    );
  }

  async run<T>(name: JobName, data: InteractiveJob): Promise<T> {
    const jobId = randomUUID();
    // Register before adding: the completion event cannot arrive before we listen for it.
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(jobId);
        reject(
          new AppError('WORKER_TIMEOUT', `No worker answered within ${this.timeoutMs} ms; try again later`, {
            retryAfter: RETRY_AFTER_SECONDS,
          }),
        );
        // The job is no longer wanted: drop it if nobody has picked it up yet.
        this.queue.remove(jobId).catch(() => undefined);
      }, this.timeoutMs);
      this.waiters.set(jobId, { resolve, reject, timer });
    });
    try {
      await this.queue.add(name, data, { jobId });
    } catch (cause) {
      this.settle(jobId, () => undefined);
      throw new AppError('UNAVAILABLE', 'The job queue is unavailable', {
        retryAfter: RETRY_AFTER_SECONDS,
        cause,
      });
    }
    const value = await result;
    return (typeof value === 'string' ? JSON.parse(value) : value) as T;
  }

  private settle(jobId: string, action: (waiter: Waiter) => void): void {
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    this.waiters.delete(jobId);
    clearTimeout(waiter.timer);
    action(waiter);
  }

  close(): void {
    for (const [jobId, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(
        new AppError('UNAVAILABLE', 'The server is shutting down', { retryAfter: RETRY_AFTER_SECONDS }),
      );
      this.waiters.delete(jobId);
    }
  }
}
