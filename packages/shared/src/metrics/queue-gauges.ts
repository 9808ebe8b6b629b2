import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { withTimeout } from '../timeout.js';

/**
 * Queue states reported per queue. `prioritized` is where BullMQ keeps waiting jobs that carry a
 * priority; it is reported on its own so `waiting` keeps BullMQ's meaning.
 */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/** How long a scrape waits for the queue numbers before it answers without them. */
export const QUEUE_READ_TIMEOUT_MS = 2_000;

export interface QueueGaugeOptions {
  /** Queues whose depth and age are read from Redis at each scrape. */
  queues: Queue[];
  log: { warn(obj: object, msg: string): void };
  readTimeoutMs?: number;
}

/**
 * `dbconn_queue_jobs{queue,state}` and `dbconn_queue_oldest_waiting_age_seconds{queue}`, read from
 * Redis at scrape time. The API and every worker report the same series (aggregate with `max`).
 * When Redis does not answer in time the gauges are empty rather than stale, and /metrics still
 * answers.
 */
export function registerQueueGauges(
  registry: Registry,
  { queues, log, readTimeoutMs = QUEUE_READ_TIMEOUT_MS }: QueueGaugeOptions,
): void {
  new Gauge({
    name: 'dbconn_queue_jobs',
    help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      try {
        const counts = await withTimeout(
          Promise.all(queues.map((q) => q.getJobCounts(...QUEUE_STATES))),
          readTimeoutMs,
          'queue counts',
        );
        this.reset();
        queues.forEach((queue, i) => {
          for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[i]?.[state] ?? 0);
        });
      } catch (err) {
        this.reset();
        log.warn({ err }, 'metrics: could not read queue counts');
      }
    },
  });
  new Gauge({
    name: 'dbconn_queue_oldest_waiting_age_seconds',
    help: 'How long the oldest waiting job of each BullMQ queue has been ready to run (0 when none waits)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      try {
        // asc = true: the far end of the wait list, i.e. the job that has waited longest.
        const oldest = await withTimeout(
          Promise.all(queues.map((q) => q.getJobs(['waiting'], 0, 0, true))),
          readTimeoutMs,
          'oldest waiting jobs',
        );
        this.reset();
        const now = Date.now();
        queues.forEach((queue, i) => {
          const job = oldest[i]?.[0];
          this.set({ queue: queue.name }, job ? Math.max(0, now - readySince(job)) / 1000 : 0);
        });
      } catch (err) {
        this.reset();
        log.warn({ err }, 'metrics: could not read the oldest waiting jobs');
      }
    },
  });
}

/**
 * When a waiting job became ready to run: a delayed job from the end of its delay (BullMQ resets a
 * promoted job's `delay`, so it is read from `opts`), a retried one from its last attempt.
 */
function readySince(job: { timestamp: number; processedOn?: number | undefined; opts: { delay?: number } }) {
  return Math.max(job.timestamp + (job.opts.delay ?? 0), job.processedOn ?? 0);
}
