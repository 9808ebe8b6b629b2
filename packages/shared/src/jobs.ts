import { z } from 'zod';

/**
 * Queue and job definitions shared by the API (producer) and the worker (consumer).
 * Job data carries ids only: BullMQ keeps job data in clear text in Redis.
 */
export const QUEUE_NAMES = {
  /** Background verifications: after create/update, sweeper, periodic re-verification. */
  verify: 'verify',
} as const;

export const JOB_NAMES = {
  verifyConnection: 'verify-connection',
} as const;

export const VERIFY_REASONS = ['created', 'updated', 'sweep', 'periodic', 'manual'] as const;

export const VerifyConnectionJobSchema = z.strictObject({
  connectionId: z.uuid(),
  organizationId: z.string().min(1).max(100),
  /** The connection's dialled-settings version this job was made for (stale-result guard). */
  dialVersion: z.number().int().positive(),
  reason: z.enum(VERIFY_REASONS),
});
export type VerifyConnectionJob = z.infer<typeof VerifyConnectionJobSchema>;

/**
 * Deterministic id: a second enqueue for the same connection and dialled version while the first
 * job still exists is a no-op. BullMQ forbids `:` in custom ids.
 */
export const verifyJobId = (job: Pick<VerifyConnectionJob, 'connectionId' | 'dialVersion'>) =>
  `verify-${job.connectionId}-v${job.dialVersion}`;
