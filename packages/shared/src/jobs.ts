import { z } from 'zod';
import { CONNECTION_STATUSES, CONNECTION_TYPES } from './schemas/connection.schema.js';
import type { VerificationReason } from './schemas/history.schema.js';
import { SSL_MODES } from './schemas/ssl.schema.js';
import {
  StageResultSchema,
  VerificationErrorSchema,
  VerificationSchema,
} from './schemas/verification.schema.js';

/**
 * Queue and job definitions shared by the API (producer) and the worker (consumer).
 * Job data carries ids only: BullMQ keeps job data in clear text in Redis.
 */
export const QUEUE_NAMES = {
  /** Background verifications: after create/update, sweeper, periodic re-verification. */
  verify: 'verify',
  /**
   * Work a person is waiting for (test now, try before save, schema discovery). Its own queue with
   * its own concurrency, so it never waits behind a backlog of background verifications.
   */
  interactive: 'interactive',
  /** Webhook deliveries (docs/contract.md §11): their own queue, so a slow receiver delays no verification. */
  webhooks: 'webhooks',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

export const JOB_NAMES = {
  verifyConnection: 'verify-connection',
  testConnection: 'test-connection',
  testSettings: 'test-settings',
  discoverSchema: 'discover-schema',
  /**
   * A tick of periodic re-verification (verify queue, fired by one BullMQ job scheduler): enqueues a
   * `periodic` verify-connection job for each connection whose last verification is too old.
   */
  reverifyActive: 'reverify-active',
  /**
   * A pass of the sweeper (verify queue, fired by one BullMQ job scheduler): re-enqueues connections
   * left pending/verifying too long without a live job.
   */
  sweepStranded: 'sweep-stranded',
  /**
   * Deletes history entries older than HISTORY_RETENTION_DAYS (verify queue, fired hourly by one
   * BullMQ job scheduler). On MongoDB a TTL index does it and the job finds nothing to do.
   */
  purgeHistory: 'purge-history',
  /** One event to one webhook endpoint, retried with exponential backoff (webhooks queue). */
  deliverWebhook: 'deliver-webhook',
} as const;

export const VERIFY_REASONS = ['created', 'updated', 'sweep', 'periodic', 'manual'] as const;

/**
 * How a job's reason reads in the history (docs/contract.md §11). `manual` is a test now that
 * shutdown cut short and a background job finished.
 */
export const HISTORY_REASON_OF: Readonly<Record<(typeof VERIFY_REASONS)[number], VerificationReason>> = {
  created: 'created',
  updated: 'changed',
  sweep: 'sweeper',
  periodic: 'periodic',
  manual: 'test',
};

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

/** Verify a stored connection now and record the result (POST /{id}/test). */
export const TestConnectionJobSchema = z.strictObject({
  organizationId: z.string().min(1).max(100),
  connectionId: z.uuid(),
  dialVersion: z.number().int().positive(),
});
export type TestConnectionJob = z.infer<typeof TestConnectionJobSchema>;

/**
 * Verify settings that are never stored (POST /test). The settings themselves are sealed into a
 * short-lived Redis key (testSettingsKey) — the job carries only the request id.
 */
export const TestSettingsJobSchema = z.strictObject({
  organizationId: z.string().min(1).max(100),
  requestId: z.uuid(),
});
export type TestSettingsJob = z.infer<typeof TestSettingsJobSchema>;

/**
 * Pub/sub channel on which the worker announces each finished stage of a test-settings job (try
 * before save), keyed by the job's request id: the trial id a live trial is watched by. Messages are
 * TrialEvent JSON: a stage's name, status, duration and code; no settings, no secrets.
 */
export const trialEventsChannel = (prefix: string, requestId: string) =>
  `${prefix}:events:trial:${requestId}`;

export const TrialEventSchema = z.object({ requestId: z.uuid(), stage: StageResultSchema });
export type TrialEvent = z.infer<typeof TrialEventSchema>;

export const publishTrialEvent = (
  redis: { publish(channel: string, message: string): Promise<number> },
  prefix: string,
  event: TrialEvent,
) => redis.publish(trialEventsChannel(prefix, event.requestId), JSON.stringify(event));

/** Discover the tables and fields of a stored connection's schema (GET /{id}/schema). */
export const DiscoverSchemaJobSchema = z.strictObject({
  organizationId: z.string().min(1).max(100),
  connectionId: z.uuid(),
  dialVersion: z.number().int().positive(),
});
export type DiscoverSchemaJob = z.infer<typeof DiscoverSchemaJobSchema>;

export type InteractiveJob = TestConnectionJob | TestSettingsJob | DiscoverSchemaJob;

/** Redis key of sealed unsaved settings; sealed with { organizationId, connectionId: requestId } as AAD. */
export const testSettingsKey = (prefix: string, requestId: string) => `${prefix}:test-settings:${requestId}`;

/**
 * Everything needed to dial a connection, secrets included: what is sealed under testSettingsKey,
 * and what the worker's engines dial (it lives only in worker memory otherwise).
 */
export const DialSettingsSchema = z.object({
  type: z.enum(CONNECTION_TYPES),
  host: z.string(),
  port: z.number().int(),
  databaseName: z.string(),
  userName: z.string(),
  password: z.string(),
  schema: z.string().optional(),
  ssl: z
    .object({
      mode: z.enum(SSL_MODES),
      ca: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
    })
    .optional(),
  metadata: z.record(z.string(), z.string()),
});
export type DialSettings = z.infer<typeof DialSettingsSchema>;

/** One table (or MongoDB collection) and its field names, both sorted. */
export const DiscoveredTableSchema = z.object({ name: z.string(), fields: z.array(z.string()) });
export type DiscoveredTable = z.infer<typeof DiscoveredTableSchema>;

/** Return value of a discover-schema job. A connection that cannot be reached is a result, not a job failure. */
export const SchemaDiscoveryResultSchema = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('passed'), schema: z.string(), tables: z.array(DiscoveredTableSchema) }),
  z.object({ outcome: z.literal('failed'), error: VerificationErrorSchema }),
]);
export type SchemaDiscoveryResult = z.infer<typeof SchemaDiscoveryResultSchema>;

/**
 * Pub/sub channel on which the worker and the API announce each status change of a connection,
 * in the order they were written. Messages are ConnectionEvent JSON: no settings, no secrets.
 */
export const connectionEventsChannel = (prefix: string, connectionId: string) =>
  `${prefix}:events:connection:${connectionId}`;

export const ConnectionEventSchema = z.object({
  id: z.uuid(),
  status: z.enum(CONNECTION_STATUSES),
  dialVersion: z.number().int().positive(),
  verification: VerificationSchema.optional(),
  /** A stage of the running verification finished (live progress; status stays `verifying`). */
  stage: StageResultSchema.optional(),
  /** The connection was deleted: watchers stop with NOT_FOUND. */
  deleted: z.literal(true).optional(),
});
export type ConnectionEvent = z.infer<typeof ConnectionEventSchema>;

export const publishConnectionEvent = (
  redis: { publish(channel: string, message: string): Promise<number> },
  prefix: string,
  event: ConnectionEvent,
) => redis.publish(connectionEventsChannel(prefix, event.id), JSON.stringify(event));
