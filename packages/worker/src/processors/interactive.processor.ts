import {
  type DialSettings,
  DialSettingsSchema,
  JOB_NAMES,
  open,
  publishTrialEvent,
  type Queue,
  type Redis,
  type StageResult,
  TestConnectionJobSchema,
  TestSettingsJobSchema,
  testSettingsKey,
  type Verification,
  type VerifyConnectionJob,
} from '@dbconn/shared';
import { type Job, UnrecoverableError } from 'bullmq';
import type { z } from 'zod';
import { requeueConnection } from '../ops/sweeper.js';
import { verifyConnection } from '../verify/verify-connection.js';
import type { QueueHandlers } from './index.js';
import {
  announce,
  dialSettings,
  secretsUnreadable,
  tryOpenStoredSecrets,
  type VerifyConnectionProcessorDeps,
  writeResult,
} from './verify-connection.processor.js';

export interface InteractiveProcessorDeps extends VerifyConnectionProcessorDeps {
  /** Reads (and deletes) the sealed settings of POST /test. */
  redis: Redis;
  prefix: string;
  /** Takes over a test that shutdown cut short, as a background verification. */
  queue: Queue<VerifyConnectionJob>;
}

function parsePayload<S extends z.ZodType>(schema: S, job: Job<unknown, unknown>): z.output<S> {
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)');
    throw new UnrecoverableError(`invalid ${job.name} payload (fields: ${fields.join(', ')})`);
  }
  return parsed.data;
}

/**
 * Work a person is waiting for: no retries (the answer is wanted now), and the result is the job's
 * return value, which the API reads from the completion event. Verifications hold no secret.
 */
export function createInteractiveHandlers(
  deps: InteractiveProcessorDeps,
  discoverSchema: QueueHandlers<'interactive'>[typeof JOB_NAMES.discoverSchema],
): QueueHandlers<'interactive'> {
  const verifyOptions = (
    organizationId: string,
    signal?: AbortSignal,
    onStage?: (stage: StageResult) => void,
  ) => ({
    timeoutMs: deps.config.verify.timeoutMs,
    stageTimeoutMs: deps.config.verify.stageTimeoutMs,
    egress: deps.config.egress,
    ...deps.dialEnvironment,
    organizationId,
    log: deps.log,
    ...(signal ? { signal } : {}),
    ...(onStage ? { onStage } : {}),
  });

  return {
    /** Verify a stored connection now; the result becomes its latest verification and status. */
    [JOB_NAMES.testConnection]: async (job, _token, signal): Promise<Verification | null> => {
      const { organizationId, connectionId } = parsePayload(TestConnectionJobSchema, job);
      const log = deps.log.child({ jobId: job.id, connectionId, organizationId, job: job.name });
      const current = await deps.store.findById({ organizationId }, connectionId);
      if (!current) return null;
      const record = await deps.store.markVerifying(organizationId, connectionId, current.dialVersion);
      if (!record) return null;
      const key = { organizationId, connectionId, dialVersion: record.dialVersion };
      await announce(deps, log, { id: connectionId, status: 'verifying', dialVersion: record.dialVersion });
      const secrets = tryOpenStoredSecrets(deps.keyring, record, log);
      const verification: Verification = secrets
        ? {
            ...(await verifyConnection(
              dialSettings(record, secrets),
              verifyOptions(organizationId, signal, (stage) => {
                void announce(deps, log, {
                  id: connectionId,
                  status: 'verifying',
                  dialVersion: record.dialVersion,
                  stage,
                });
              }),
            )),
            attempts: 1,
          }
        : secretsUnreadable(1);
      if (signal?.aborted) {
        // Shutdown cut the dial short: the result says nothing about the connection, so it is not
        // recorded. The person waiting gets ABORTED; a background verification finishes the job.
        const requeued = await requeueConnection(deps, record, 'manual');
        log.info({ requeued }, 'test aborted by shutdown; handed to a background verification');
        if (requeued === 'requeued') {
          await announce(deps, log, { id: connectionId, status: 'pending', dialVersion: record.dialVersion });
        }
        return verification;
      }
      deps.onVerified?.(record.type, verification, 'interactive');
      await writeResult(
        deps,
        log,
        { ...key, reason: 'test', previous: record },
        verification.outcome === 'passed' ? 'active' : 'failed',
        verification,
      );
      return verification;
    },

    /** Verify settings that are never stored; they wait sealed in Redis and are deleted on read. */
    [JOB_NAMES.testSettings]: async (job, _token, signal): Promise<Verification> => {
      const { organizationId, requestId } = parsePayload(TestSettingsJobSchema, job);
      const sealed = await deps.redis.getdel(testSettingsKey(deps.prefix, requestId));
      if (!sealed) throw new UnrecoverableError('the settings to test expired before a worker took them');
      let settings: DialSettings;
      try {
        settings = DialSettingsSchema.parse(
          JSON.parse(open(deps.keyring, sealed, { organizationId, connectionId: requestId })),
        );
      } catch {
        throw new UnrecoverableError('the settings to test could not be opened');
      }
      // Each finished stage goes out on the trial's own channel (a live trial watches it).
      const log = deps.log.child({ jobId: job.id, organizationId, job: job.name });
      const verification = await verifyConnection(
        settings,
        verifyOptions(organizationId, signal, (stage) => {
          publishTrialEvent(deps.redis, deps.prefix, { requestId, stage }).catch((err: unknown) =>
            log.warn({ err, stage: stage.name }, 'could not publish the trial stage'),
          );
        }),
      );
      if (!signal?.aborted) deps.onVerified?.(settings.type, verification, 'interactive');
      return verification;
    },

    [JOB_NAMES.discoverSchema]: discoverSchema,
  };
}
