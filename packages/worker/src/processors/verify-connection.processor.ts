import {
  AppError,
  AVAILABILITY_WINDOW_DAYS,
  type Config,
  type ConnectionEvent,
  type ConnectionRecord,
  type ConnectionSecrets,
  type ConnectionStore,
  type ConnectionType,
  HISTORY_REASON_OF,
  type HistoryRecord,
  type Keyring,
  type LazyWebhookData,
  type Logger,
  openStoredSecrets,
  type QueueName,
  SealError,
  SPAN_ATTRIBUTES,
  STAGE_NAMES,
  toConnection,
  uuidv7,
  VERIFICATION_CODES,
  type Verification,
  type VerificationCode,
  type VerificationError,
  type VerificationReason,
  VerifyConnectionJobSchema,
  type WebhookData,
} from '@dbconn/shared';
import { trace } from '@opentelemetry/api';
import { DelayedError, type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { DialSettings, VerifyOptions } from '../engines/types.js';
import { isTransientCode, verifyConnection } from '../verify/verify-connection.js';

export interface VerifyConnectionProcessorDeps {
  store: ConnectionStore;
  keyring: Keyring;
  config: Pick<Config, 'verify' | 'egress'>;
  log: Logger;
  /** What every dial shares: the service's own endpoints and the resolver (DNS_SERVERS). */
  dialEnvironment?: DialEnvironment;
  /** Announces each status change to watchers (connections.watch). Failures are logged, not thrown. */
  publish?: (event: ConnectionEvent) => Promise<unknown>;
  /** Enqueues webhook deliveries of a status change (emitWebhookEvent). Failures are logged, not thrown. */
  emitWebhook?: (
    organizationId: string,
    event: 'connection.active' | 'connection.failed',
    data: WebhookData | LazyWebhookData,
  ) => Promise<unknown>;
  /** Told of every finished verification (metrics); must not throw. Dials cut short by shutdown are not told. */
  onVerified?: (engine: ConnectionType, verification: Verification, queue: QueueName) => void;
}

export type DialEnvironment = Pick<VerifyOptions, 'selfTargets' | 'lookup' | 'srvLookup'>;

/**
 * What a finished job leaves in Redis as its return value (BullMQ keeps it in clear text: codes
 * only, never a message that could quote settings).
 * - `active` / `failed`: the result was written.
 * - `skipped`: the connection was deleted or its dialled settings changed before the job ran, or a
 *   result for these settings from a dial that started after the job was made is already recorded
 *   (a re-run of a job whose first run wrote its result but was not marked complete).
 * - `discarded`: they changed while it ran (the result was for settings that no longer exist), or
 *   a dial that started later has already recorded its result.
 */
export interface VerifyJobResult {
  status: 'active' | 'failed' | 'skipped' | 'discarded';
  attempt: number;
  code?: string | undefined;
}

/** The stored secrets do not open: a permanent failure at `auth`, nothing dialled (see codes.ts). */
export const SECRETS_UNREADABLE = 'SECRETS_UNREADABLE' satisfies VerificationCode;

/** Thrown to make BullMQ retry (with the backoff chosen at enqueue) after a transient failure. */
export class TransientVerificationError extends Error {
  override name = 'TransientVerificationError';
  constructor(
    readonly stage: string,
    readonly code: string,
  ) {
    // Only the stage and code: the job's failedReason is stored in clear text in Redis.
    super(`verification failed at ${stage} with transient ${code}; will retry`);
  }
}

/**
 * How long a verification that could not reach the store waits before its next try. It is not an
 * attempt (nothing was learnt about the connection), so it waits as long as the store is down and
 * runs within about this long after the store answers again.
 */
export const STORE_RETRY_DELAY_MS = 1_000;

/** The store did not answer (down, frozen past its deadline, failing over): retry, never a verdict. */
export const isStoreUnavailable = (err: unknown) => err instanceof AppError && err.code === 'UNAVAILABLE';

export type VerifyConnectionProcessor = (
  job: Job<unknown, unknown>,
  token?: string,
  signal?: AbortSignal,
) => Promise<VerifyJobResult>;

/**
 * Runs one verification job: claim the connection for the job's dialled version, dial it, and
 * write the result only if that version is still current (docs/contract.md §6). A try that cannot
 * read or write the store is put back, delayed, without spending an attempt.
 */
export function createVerifyConnectionProcessor(
  deps: VerifyConnectionProcessorDeps,
): VerifyConnectionProcessor {
  const verify = verifyOnce(deps);
  return async (job, token, signal) => {
    try {
      return await verify(job, token, signal);
    } catch (err) {
      if (!isStoreUnavailable(err) || !token) throw err;
      // Back to the queue with its attempts untouched (moveToDelayed skips the attempt count).
      deps.log.warn(
        { jobId: job.id, reason: 'store-unavailable', retryInMs: STORE_RETRY_DELAY_MS },
        'the store did not answer; verification delayed without spending an attempt',
      );
      await job.moveToDelayed(Date.now() + STORE_RETRY_DELAY_MS, token);
      throw new DelayedError();
    }
  };
}

/** One try of a verification job; a store error escapes it as UNAVAILABLE. */
function verifyOnce(deps: VerifyConnectionProcessorDeps): VerifyConnectionProcessor {
  return async (job, token, signal) => {
    const parsed = VerifyConnectionJobSchema.safeParse(job.data);
    if (!parsed.success) {
      // A payload that does not parse will not parse on a retry either.
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)');
      throw new UnrecoverableError(`invalid verify-connection payload (fields: ${fields.join(', ')})`);
    }
    const { connectionId, organizationId, dialVersion } = parsed.data;
    const reason = HISTORY_REASON_OF[parsed.data.reason];
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const log = deps.log.child({ jobId: job.id, connectionId, organizationId, dialVersion, attempt });
    // The job's `process` span (BullMQ's, while tracing runs): ids and why, never settings.
    const jobSpan = trace.getActiveSpan();
    jobSpan?.setAttributes({
      [SPAN_ATTRIBUTES.connectionId]: connectionId,
      [SPAN_ATTRIBUTES.organizationId]: organizationId,
      [SPAN_ATTRIBUTES.reason]: reason,
    });

    // BullMQ delivers at least once: a worker killed after writing the result but before BullMQ
    // recorded the completion leaves a job that runs again. A result of this dialled version from a
    // dial that started after the job was made already answers it; leave that record untouched.
    const record = await deps.store.markVerifying(organizationId, connectionId, dialVersion, {
      unlessSettledSince: new Date(job.timestamp),
    });
    if (!record) {
      log.info(
        "connection deleted, its settings changed, or this job's result already recorded; nothing to verify",
      );
      return { status: 'skipped', attempt };
    }
    // Not awaited, like the stages': the dial need not wait for Redis, and one publisher keeps the
    // order (verifying, the stages, the result).
    void announce(deps, log, { id: connectionId, status: 'verifying', dialVersion });
    jobSpan?.setAttribute(SPAN_ATTRIBUTES.engine, record.type);

    const secrets = tryOpenStoredSecrets(deps.keyring, record, log);
    if (!secrets) {
      const unreadable = secretsUnreadable(attempt);
      deps.onVerified?.(record.type, unreadable, 'verify');
      return writeResult(deps, log, { ...parsed.data, reason, previous: record }, 'failed', unreadable);
    }

    const verification = await verifyConnection(dialSettings(record, secrets), {
      timeoutMs: deps.config.verify.timeoutMs,
      stageTimeoutMs: deps.config.verify.stageTimeoutMs,
      egress: deps.config.egress,
      ...deps.dialEnvironment,
      organizationId,
      // Where the egress rule behind HOST_FORBIDDEN and the cause of UNEXPECTED_ERROR go.
      log,
      ...(signal ? { signal } : {}),
      onStage: (stage) =>
        void announce(deps, log, { id: connectionId, status: 'verifying', dialVersion, stage }),
    });

    if (signal?.aborted && verification.outcome === 'failed') {
      // Shutdown cut the dial short: the result says nothing about the connection. Hand the job
      // back without spending an attempt, so another worker (or this one restarted) runs it.
      log.info('verification aborted by shutdown; returning the job to the queue');
      if (token) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      throw new Error('verification aborted by shutdown');
    }
    // Every finished dial counts, a failed attempt that will be retried included.
    deps.onVerified?.(record.type, verification, 'verify');

    const error = verification.error;
    if (error && isTransientCode(error.code) && attempt < maxAttempts) {
      log.info({ stage: error.stage, code: error.code, maxAttempts }, 'transient failure; will retry');
      throw new TransientVerificationError(error.stage, error.code);
    }

    const status = verification.outcome === 'passed' ? 'active' : 'failed';
    return writeResult(deps, log, { ...parsed.data, reason, previous: record }, status, {
      ...verification,
      attempts: attempt,
    });
  };
}

export async function writeResult(
  deps: VerifyConnectionProcessorDeps,
  log: Logger,
  job: {
    organizationId: string;
    connectionId: string;
    dialVersion: number;
    /** Why it ran, as the history says it. */
    reason: VerificationReason;
    /** The record as the job claimed it: its previous result tells whether the status changes. */
    previous: Pick<ConnectionRecord, 'verification' | 'productName'>;
  },
  status: 'active' | 'failed',
  verification: Verification,
): Promise<VerifyJobResult> {
  const attempt = verification.attempts ?? 1;
  const code = verification.error?.code;
  // The settled status changes with the first result, or an outcome other than the last one;
  // pending and verifying in between (an edit, a claim) do not count.
  const statusChanged = job.previous.verification?.outcome !== verification.outcome;
  const entry = historyEntry(job, status, statusChanged, verification);
  const { store } = deps;
  // One statement where the store has one (the result and its entry, or neither, and whether the
  // organization has a webhook endpoint at all); else two steps, and the endpoints are looked up.
  const result = [job.organizationId, job.connectionId, job.dialVersion, status, verification] as const;
  const written = store.recordVerificationWithHistory
    ? await store.recordVerificationWithHistory(...result, { statusChanged }, entry)
    : (await store.recordVerification(...result, { statusChanged }))
      ? { webhooks: true }
      : null;
  if (!written) {
    log.info(
      { status, code },
      'settings changed, connection deleted, or a later dial already recorded while verifying; result discarded',
    );
    return { status: 'discarded', attempt, code };
  }
  trace.getActiveSpan()?.setAttributes({
    [SPAN_ATTRIBUTES.outcome]: status,
    ...(code ? { [SPAN_ATTRIBUTES.code]: code } : {}),
  });
  log.info(
    { status, stage: verification.error?.stage, code, latencyMs: verification.latencyMs },
    status === 'active' ? 'connection verified' : 'connection verification failed',
  );
  if (!store.recordVerificationWithHistory) await appendVerification(deps, log, entry);
  // Watchers first: the webhook deliveries are only enqueued here (bench/README.md, P2).
  await announce(deps, log, { id: job.connectionId, status, dialVersion: job.dialVersion, verification });
  // Webhooks hear of a change of status only, not of a pass that confirms the same one.
  if (statusChanged && written.webhooks) await emitStatusChange(deps, log, job, status, verification);
  return { status, attempt, code };
}

async function emitStatusChange(
  deps: Pick<VerifyConnectionProcessorDeps, 'store' | 'emitWebhook'>,
  log: Logger,
  job: {
    organizationId: string;
    connectionId: string;
    previous: Pick<ConnectionRecord, 'productName'>;
  },
  status: 'active' | 'failed',
  verification: Verification,
): Promise<void> {
  if (!deps.emitWebhook) return;
  const { organizationId, connectionId } = job;
  try {
    // The connection as it is now, with its availability: read only when an endpoint wants it.
    const build = async () => {
      const record = await deps.store.findById({ organizationId }, connectionId);
      if (!record) return null;
      const since = new Date(Date.now() - AVAILABILITY_WINDOW_DAYS * 86_400_000);
      const tallies = await deps.store.tallyVerifications(organizationId, [record.id], since);
      return { connection: toConnection(record, tallies.get(record.id)), verification };
    };
    await deps.emitWebhook(organizationId, status === 'active' ? 'connection.active' : 'connection.failed', {
      productName: job.previous.productName,
      build,
    });
  } catch (err) {
    log.warn({ err, status }, 'could not enqueue the webhook deliveries of a status change');
  }
}

type VerificationHistoryRecord = Extract<HistoryRecord, { kind: 'verification' }>;

/** The history entry of a verification's result (docs/contract.md §11). */
function historyEntry(
  job: Parameters<typeof writeResult>[2],
  status: 'active' | 'failed',
  statusChanged: boolean,
  verification: Verification,
): VerificationHistoryRecord {
  const at = new Date();
  return {
    id: uuidv7(at.getTime()),
    organizationId: job.organizationId,
    connectionId: job.connectionId,
    ...(job.previous.productName !== undefined ? { productName: job.previous.productName } : {}),
    at,
    kind: 'verification',
    reason: job.reason,
    status,
    statusChanged,
    ...(verification.error ? { stage: verification.error.stage, code: verification.error.code } : {}),
    ...(verification.warnings ? { warnings: verification.warnings.map((w) => w.code) } : {}),
    latencyMs: verification.latencyMs,
  };
}

/** Appends a written result to the history; a failure is logged (the result itself is stored). */
async function appendVerification(
  deps: Pick<VerifyConnectionProcessorDeps, 'store'>,
  log: Logger,
  entry: VerificationHistoryRecord,
): Promise<void> {
  try {
    await deps.store.appendHistory(entry);
  } catch (err) {
    log.warn({ err, status: entry.status }, 'could not append the verification to the history');
  }
}

/**
 * Tells watchers about a status change, or a stage that finished (`stage`: live progress); a lost
 * message only delays them (they also poll).
 */
export async function announce(
  deps: Pick<VerifyConnectionProcessorDeps, 'publish'>,
  log: Logger,
  event: ConnectionEvent,
): Promise<void> {
  try {
    await deps.publish?.(event);
  } catch (err) {
    log.warn({ err, status: event.status }, 'could not publish the status change');
  }
}

/** What the engines dial: the stored settings plus the opened secrets. Never logged, never queued. */
export function dialSettings(
  record: Pick<
    ConnectionRecord,
    'type' | 'host' | 'port' | 'databaseName' | 'userName' | 'schema' | 'sslMode' | 'metadata'
  >,
  secrets: ConnectionSecrets,
): DialSettings {
  return {
    type: record.type,
    host: record.host,
    port: record.port,
    databaseName: record.databaseName,
    userName: record.userName,
    password: secrets.password,
    schema: record.schema,
    ssl: record.sslMode
      ? { mode: record.sslMode, ca: secrets.ca, cert: secrets.cert, key: secrets.key }
      : undefined,
    metadata: record.metadata,
  };
}

/**
 * The stored secrets of a connection, or undefined when they do not open with the configured master
 * keys (a key version removed too early, a corrupted record): logged here, and every caller turns it
 * into a SECRETS_UNREADABLE result instead of an error.
 */
export function tryOpenStoredSecrets(
  keyring: Keyring,
  record: Pick<ConnectionRecord, 'organizationId' | 'id' | 'sealedSecrets'>,
  log: Logger,
): ConnectionSecrets | undefined {
  try {
    return openStoredSecrets(keyring, record);
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    log.error({ reason: err.message }, 'stored secrets do not open; answering SECRETS_UNREADABLE');
    return undefined;
  }
}

/** Why a connection whose secrets do not open failed: at `auth`, before anything was dialled. */
export function secretsUnreadableError(): VerificationError {
  const entry = VERIFICATION_CODES[SECRETS_UNREADABLE];
  return { stage: 'auth', code: SECRETS_UNREADABLE, message: entry.message(), hint: entry.hint() };
}

/** The failed verification of a connection whose secrets do not open: nothing was dialled. */
export function secretsUnreadable(attempt: number): Verification {
  return {
    outcome: 'failed',
    checkedAt: new Date().toISOString(),
    latencyMs: 0,
    attempts: attempt,
    stages: STAGE_NAMES.map((name) =>
      name === 'auth'
        ? { name, status: 'failed' as const, durationMs: 0, code: SECRETS_UNREADABLE }
        : { name, status: 'skipped' as const, durationMs: 0 },
    ),
    error: secretsUnreadableError(),
  };
}
