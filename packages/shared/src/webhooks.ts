import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { z } from 'zod';
import type { Config } from './config.js';
import { type Keyring, open, seal, webhookSealContext } from './crypto/seal.js';
import { JOB_NAMES, QUEUE_NAMES } from './jobs.js';
import type { Redis } from './redis.js';
import { WEBHOOK_EVENTS, type WebhookEvent, WebhookPayloadSchema } from './schemas/webhook.schema.js';
import type { ConnectionStore, WebhookRecord } from './store/types.js';
import { telemetryOption } from './telemetry/tracing.js';
import { uuidv7 } from './uuid.js';

/**
 * One delivery of one event to one endpoint (docs/contract.md §11). The payload is the connection
 * as the API shows it (no secret) and the verification result: BullMQ keeps it in clear text, and
 * it holds nothing a GET would not show. `messageId` is the `webhook-id` header, the same on every
 * attempt, so receivers de-duplicate.
 */
export const DeliverWebhookJobSchema = z.strictObject({
  organizationId: z.string().min(1).max(100),
  webhookId: z.uuid(),
  messageId: z.string().regex(/^msg_[0-9a-f-]{36}$/),
  event: z.enum(WEBHOOK_EVENTS),
  payload: WebhookPayloadSchema,
});
export type DeliverWebhookJob = z.infer<typeof DeliverWebhookJobSchema>;

export function createWebhookQueue(connection: Redis, prefix: string): Queue<DeliverWebhookJob> {
  return new Queue<DeliverWebhookJob>(QUEUE_NAMES.webhooks, {
    connection,
    prefix,
    ...telemetryOption(),
    defaultJobOptions: { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } },
  });
}

/** The signing secrets of an endpoint: after a rotation the previous one signs too, until `previousUntil`. */
export interface WebhookSecrets {
  current: string;
  previous?: string | undefined;
  previousUntil?: string | undefined;
}

/** How long a rotated-out secret keeps signing beside the new one. */
export const SECRET_OVERLAP_MS = 86_400_000;

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
export const newWebhookSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

export const sealWebhookSecrets = (
  keyring: Keyring,
  record: Pick<WebhookRecord, 'organizationId' | 'id'>,
  secrets: WebhookSecrets,
) => seal(keyring, JSON.stringify(secrets), webhookSealContext(record));

export const openWebhookSecrets = (
  keyring: Keyring,
  record: Pick<WebhookRecord, 'organizationId' | 'id' | 'sealedSecrets'>,
): WebhookSecrets =>
  JSON.parse(open(keyring, record.sealedSecrets, webhookSealContext(record))) as WebhookSecrets;

/** The secrets that sign now: the current one, and the previous one while its overlap lasts. */
export const signingSecrets = (secrets: WebhookSecrets, now: Date = new Date()): string[] =>
  secrets.previous && secrets.previousUntil && Date.parse(secrets.previousUntil) > now.getTime()
    ? [secrets.current, secrets.previous]
    : [secrets.current];

/**
 * Attempts of a delivery: the first, then retries whose delays double from `retryBaseMs` for as
 * long as they all fit in `retryWindowMs` (24 h by default).
 */
export function webhookAttempts(policy: Pick<Config['webhooks'], 'retryBaseMs' | 'retryWindowMs'>): number {
  return 1 + Math.max(0, Math.floor(Math.log2(policy.retryWindowMs / policy.retryBaseMs + 1)));
}

/** Whether an endpoint wants this event of a connection of this product. */
export const webhookWants = (hook: WebhookRecord, event: WebhookEvent, productName: string | undefined) =>
  hook.enabled &&
  hook.events.includes(event) &&
  (hook.productName === undefined || hook.productName === productName);

/**
 * Enqueues one delivery per endpoint of the organization that wants the event. Only enqueues: the
 * worker dials (never the API). Returns how many deliveries were enqueued.
 */
export async function emitWebhookEvent(
  deps: {
    store: ConnectionStore;
    queue: Queue<DeliverWebhookJob>;
    policy: Pick<Config['webhooks'], 'retryBaseMs' | 'retryWindowMs'>;
  },
  organizationId: string,
  event: WebhookEvent,
  data: DeliverWebhookJob['payload']['data'],
): Promise<number> {
  const hooks = (await deps.store.listWebhooks(organizationId)).filter((hook) =>
    webhookWants(hook, event, data.connection.productName),
  );
  if (hooks.length === 0) return 0;
  const messageId = `msg_${uuidv7()}`;
  const payload = { type: event, timestamp: new Date().toISOString(), data };
  await deps.queue.addBulk(
    hooks.map((hook) => ({
      name: JOB_NAMES.deliverWebhook,
      data: DeliverWebhookJobSchema.parse({ organizationId, webhookId: hook.id, messageId, event, payload }),
      opts: {
        jobId: `${messageId}-${hook.id}`,
        attempts: webhookAttempts(deps.policy),
        backoff: { type: 'exponential', delay: deps.policy.retryBaseMs },
      },
    })),
  );
  return hooks.length;
}
