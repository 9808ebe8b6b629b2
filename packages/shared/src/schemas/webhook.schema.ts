import { z } from 'zod';
import { ConnectionSchema, ProductNameSchema } from './connection.schema.js';
import { intParam } from './list.schema.js';
import { VerificationSchema } from './verification.schema.js';

/**
 * Webhooks (docs/contract.md §11): endpoints an organization registers to hear about its
 * connections, signed per the Standard Webhooks specification.
 */
export const WEBHOOK_EVENTS = [
  'connection.active',
  'connection.failed',
  'connection.updated',
  'connection.deleted',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** An http(s) URL without credentials (a password in a URL would be stored and shown in clear). */
export const WebhookUrlSchema = z
  .string({ error: 'url must be a string' })
  .trim()
  .max(2048, 'url must be at most 2048 characters')
  .refine((value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password;
  }, 'url must be an http:// or https:// URL without user or password');

const EventsSchema = z
  .array(z.enum(WEBHOOK_EVENTS, { error: `each event must be one of ${WEBHOOK_EVENTS.join(', ')}` }))
  .min(1, 'events must name at least one event')
  .max(WEBHOOK_EVENTS.length)
  .refine((events) => new Set(events).size === events.length, 'events must not repeat an event');

export const CreateWebhookInputSchema = z.strictObject({
  url: WebhookUrlSchema,
  events: EventsSchema,
  /** Only connections of this product; absent = every connection of the organization. */
  productName: ProductNameSchema.optional(),
});
export type CreateWebhookInput = z.output<typeof CreateWebhookInputSchema>;

export const UpdateWebhookInputSchema = z.strictObject({
  url: WebhookUrlSchema.optional(),
  events: EventsSchema.optional(),
  productName: ProductNameSchema.nullable().optional(),
  /** `true` turns a disabled endpoint on again (and clears its failure streak). */
  enabled: z.boolean().optional(),
});
export type UpdateWebhookInput = z.output<typeof UpdateWebhookInputSchema>;

export const WebhookSchema = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  productName: z.string().optional(),
  enabled: z.boolean(),
  disabledReason: z
    .string()
    .optional()
    .meta({ description: 'why it was turned off: after how many failed deliveries in a row' }),
  failureStreak: z
    .number()
    .int()
    .nonnegative()
    .meta({ description: 'failed attempts since the last success' }),
  secretRotatedAt: z.iso.datetime().optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Webhook = z.infer<typeof WebhookSchema>;

/** Create and rotate-secret: the signing secret is shown this once. */
export const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z.string().meta({ description: '`whsec_…`: shown once; verify signatures with it' }),
});
export type WebhookWithSecret = z.infer<typeof WebhookWithSecretSchema>;

export const WebhookListSchema = z.object({ items: z.array(WebhookSchema) });

export const WebhookDeliverySchema = z.object({
  id: z.uuid(),
  messageId: z
    .string()
    .meta({ description: 'the webhook-id header: the same on every attempt of one event' }),
  event: z.enum(WEBHOOK_EVENTS),
  attempt: z.number().int().positive(),
  at: z.iso.datetime(),
  outcome: z.enum(['delivered', 'failed']),
  statusCode: z.number().int().optional(),
  latencyMs: z.number().int().nonnegative(),
  error: z.string().optional().meta({ description: 'what went wrong when no answer came' }),
});
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;

export const WebhookDeliveriesQuerySchema = z.strictObject({ limit: intParam('limit', 1, 100, 20) });
export const WebhookDeliveryListSchema = z.object({
  items: z.array(WebhookDeliverySchema).meta({ description: 'newest first' }),
});

/** The body of every delivery (Standard Webhooks: type, timestamp, data). */
export const WebhookPayloadSchema = z.object({
  type: z.enum(WEBHOOK_EVENTS),
  timestamp: z.iso.datetime(),
  data: z.object({
    connection: ConnectionSchema,
    verification: VerificationSchema.optional(),
  }),
});
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;
