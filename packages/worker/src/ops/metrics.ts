import {
  CONNECTION_TYPES,
  type ConnectionType,
  type Logger,
  QUEUE_NAMES,
  type Queue,
  type Verification,
} from '@dbconn/shared';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { SECRETS_UNREADABLE, type VerificationQueueName } from '../processors/verify-connection.processor.js';
import { isVerificationCode } from '../verify/codes.js';
import { withTimeout } from './timeout.js';

/**
 * Queue states reported per queue, as the API's /metrics reports them. `prioritized` is where
 * BullMQ keeps waiting jobs that carry a priority; it is its own state so `waiting` keeps BullMQ's
 * meaning.
 */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;

/** The `stage` and `code` label of a verification that passed. */
export const NO_FAILURE = 'none';
/** The `code` label of a code outside the code table (a bug): never the raw text, which is unbounded. */
export const UNKNOWN_CODE = 'UNKNOWN';

/**
 * Seconds. A PostgreSQL verification on a LAN takes about 10 ms; the deadline is 10 s by default
 * (VERIFY_TIMEOUT_MS), so the buckets run from 5 ms to past it.
 */
export const VERIFICATION_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** How long a scrape waits for the queue numbers before it answers without them. */
export const QUEUE_READ_TIMEOUT_MS = 2_000;

export interface WorkerMetricsOptions {
  /** Queues whose depth and age are read from Redis at each scrape. */
  queues: Queue[];
  log: Logger;
  /** Defaults to QUEUE_READ_TIMEOUT_MS. */
  queueReadTimeoutMs?: number;
}

export interface WorkerMetrics {
  /** This worker's own registry (default process metrics included), served at /metrics. */
  registry: Registry;
  /** Counts one finished dial and observes its latency. Never throws. */
  recordVerification(engine: ConnectionType, verification: Verification, queue: VerificationQueueName): void;
}

/**
 * The worker's Prometheus metrics. Labels are engines, outcomes, stage names, codes from the
 * fixed code table, queue names and states: never ids, hosts, messages or secrets, so the number of
 * series stays bounded.
 */
export function createWorkerMetrics({
  queues,
  log,
  queueReadTimeoutMs = QUEUE_READ_TIMEOUT_MS,
}: WorkerMetricsOptions): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const verifications = new Counter({
    name: 'dbconn_verifications_total',
    help: 'Finished verification dials by engine, outcome, failed stage and code (none when passed), and queue',
    labelNames: ['engine', 'outcome', 'stage', 'code', 'queue'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'dbconn_verification_duration_seconds',
    help: 'Duration of one verification dial (all stages), by engine and outcome',
    labelNames: ['engine', 'outcome'] as const,
    buckets: VERIFICATION_DURATION_BUCKETS,
    registers: [registry],
  });
  // Zero from the start, so rate() and increase() see the first verification of each engine.
  for (const engine of CONNECTION_TYPES) {
    for (const queue of Object.values(QUEUE_NAMES)) {
      verifications.inc({ engine, outcome: 'passed', stage: NO_FAILURE, code: NO_FAILURE, queue }, 0);
    }
  }

  new Gauge({
    name: 'dbconn_queue_jobs',
    help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      try {
        // BullMQ waits for a Redis that is down instead of failing: bound the wait.
        const counts = await withTimeout(
          Promise.all(queues.map((q) => q.getJobCounts(...QUEUE_STATES))),
          queueReadTimeoutMs,
          'queue counts',
        );
        this.reset();
        queues.forEach((queue, i) => {
          for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[i]?.[state] ?? 0);
        });
      } catch (err) {
        // No numbers rather than stale ones; /metrics itself still answers.
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
          queueReadTimeoutMs,
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

  return {
    registry,
    recordVerification(engine, verification, queue) {
      try {
        const stage = verification.error?.stage ?? NO_FAILURE;
        const code = verification.error ? codeLabel(verification.error.code) : NO_FAILURE;
        verifications.inc({ engine, outcome: verification.outcome, stage, code, queue });
        duration.observe({ engine, outcome: verification.outcome }, verification.latencyMs / 1000);
      } catch (err) {
        // A metric must never fail a verification.
        log.warn({ err }, 'metrics: could not record a verification');
      }
    },
  };
}

function codeLabel(code: string): string {
  return isVerificationCode(code) || code === SECRETS_UNREADABLE ? code : UNKNOWN_CODE;
}

/**
 * When a waiting job became ready to run. BullMQ resets a promoted job's `delay` to 0, so the
 * delay asked for at enqueue comes from `opts`; a retried job became ready after its last attempt
 * started (`processedOn`). Measuring from creation alone would make a job spread over a
 * re-verification tick look minutes old the moment it becomes due.
 */
function readySince(job: { timestamp: number; processedOn?: number | undefined; opts: { delay?: number } }) {
  return Math.max(job.timestamp + (job.opts.delay ?? 0), job.processedOn ?? 0);
}
