import {
  CONNECTION_TYPES,
  type ConnectionType,
  isVerificationCode,
  type Logger,
  QUEUE_NAMES,
  QUEUE_READ_TIMEOUT_MS,
  type Queue,
  type QueueName,
  registerQueueGauges,
  type Verification,
} from '@dbconn/shared';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The `stage` and `code` label of a verification that passed. */
export const NO_FAILURE = 'none';
/** The `code` label of a code outside the code table (a bug): never the raw text, which is unbounded. */
export const UNKNOWN_CODE = 'UNKNOWN';

/**
 * Seconds. A PostgreSQL verification on a LAN takes about 10 ms; the deadline is 10 s by default
 * (VERIFY_TIMEOUT_MS), so the buckets run from 5 ms to past it.
 */
export const VERIFICATION_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface WorkerMetricsOptions {
  /**
   * Queues whose depth and age are read from Redis at each scrape. Absent: none yet (a worker still
   * waiting for its dependencies serves process metrics); `watchQueues` adds them.
   */
  queues?: Queue[];
  log: Logger;
  /** Defaults to QUEUE_READ_TIMEOUT_MS. */
  queueReadTimeoutMs?: number;
}

export interface WorkerMetrics {
  /** This worker's own registry (default process metrics included), served at /metrics. */
  registry: Registry;
  /** Starts reading these queues' depth and age at each scrape (once: the gauges are registered here). */
  watchQueues(queues: Queue[]): void;
  /** Counts one finished dial and observes its latency. Never throws. */
  recordVerification(engine: ConnectionType, verification: Verification, queue: QueueName): void;
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
  const warnings = new Counter({
    name: 'dbconn_verification_warnings_total',
    help: 'Warnings carried by passing verification dials, by engine and warning code (docs/contract.md §12)',
    labelNames: ['engine', 'code'] as const,
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

  const watchQueues = (watched: Queue[]) =>
    registerQueueGauges(registry, { queues: watched, log, readTimeoutMs: queueReadTimeoutMs });
  if (queues) watchQueues(queues);

  return {
    registry,
    watchQueues,
    recordVerification(engine, verification, queue) {
      try {
        const stage = verification.error?.stage ?? NO_FAILURE;
        const code = verification.error ? codeLabel(verification.error.code) : NO_FAILURE;
        verifications.inc({ engine, outcome: verification.outcome, stage, code, queue });
        for (const warning of verification.warnings ?? []) warnings.inc({ engine, code: warning.code });
        duration.observe({ engine, outcome: verification.outcome }, verification.latencyMs / 1000);
      } catch (err) {
        // A metric must never fail a verification.
        log.warn({ err }, 'metrics: could not record a verification');
      }
    },
  };
}

function codeLabel(code: string): string {
  return isVerificationCode(code) ? code : UNKNOWN_CODE;
}
