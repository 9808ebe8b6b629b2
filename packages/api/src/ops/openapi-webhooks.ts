import { WebhookDeliveriesQuerySchema } from '@dbconn/shared';
import { WEBHOOKS_PATH } from '../rest/webhooks.rest.js';
import { type JsonSchema, type OpenApiDocument, toJsonSchema } from './openapi-components.js';
import { ALWAYS, BODY, header, idParameter, operation } from './openapi-operations.js';

/** Webhooks (docs/contract.md §11): per organization, signed per Standard Webhooks. */
export function webhookPaths(): OpenApiDocument['paths'] {
  const base = WEBHOOKS_PATH;
  const byId = `${base}/{id}`;
  const webhookId = { ...idParameter, description: 'the webhook id' };
  const tag = 'webhooks' as const;
  return {
    [base]: {
      post: operation({
        operationId: 'createWebhook',
        summary: 'Register a webhook endpoint',
        description:
          'Answers the signing secret (`whsec_…`) this once. Deliveries are POSTs from the worker (through the egress policy) with the Standard Webhooks headers `webhook-id`, `webhook-timestamp` and `webhook-signature`.',
        tag,
        body: 'CreateWebhookInput',
        success: {
          status: 201,
          description: 'created, with its secret',
          schema: 'WebhookWithSecret',
          headers: { Location: header('the new webhook’s URL') },
        },
        errors: ['VALIDATION_FAILED', ...BODY, ...ALWAYS],
      }),
      get: operation({
        operationId: 'listWebhooks',
        summary: 'The organization’s webhook endpoints',
        tag,
        success: { status: 200, description: 'every endpoint', schema: 'WebhookList' },
        errors: [...ALWAYS],
      }),
    },
    [byId]: {
      get: operation({
        operationId: 'getWebhook',
        summary: 'One webhook endpoint (whether it is turned off, and why)',
        tag,
        parameters: [webhookId],
        success: { status: 200, description: 'the endpoint', schema: 'Webhook' },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...ALWAYS],
      }),
      patch: operation({
        operationId: 'updateWebhook',
        summary: 'Change an endpoint; `enabled: true` turns it on again',
        tag,
        parameters: [webhookId],
        body: 'UpdateWebhookInput',
        success: { status: 200, description: 'the endpoint', schema: 'Webhook' },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...BODY, ...ALWAYS],
      }),
      delete: operation({
        operationId: 'deleteWebhook',
        summary: 'Remove an endpoint',
        tag,
        parameters: [webhookId],
        success: { status: 204, description: 'deleted' },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...BODY, ...ALWAYS],
      }),
    },
    [`${byId}/rotate-secret`]: {
      post: operation({
        operationId: 'rotateWebhookSecret',
        summary: 'A new signing secret; the old one keeps signing beside it for 24 h',
        tag,
        parameters: [webhookId],
        success: {
          status: 200,
          description: 'the endpoint with its new secret',
          schema: 'WebhookWithSecret',
        },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...BODY, ...ALWAYS],
      }),
    },
    [`${byId}/deliveries`]: {
      get: operation({
        operationId: 'listWebhookDeliveries',
        summary: 'Delivery attempts, newest first',
        tag,
        parameters: [
          webhookId,
          {
            name: 'limit',
            in: 'query',
            required: false,
            description: 'attempts to list, 1–100 (default 20)',
            schema: (
              toJsonSchema(WebhookDeliveriesQuerySchema, 'input').properties as Record<string, JsonSchema>
            ).limit,
          },
        ],
        success: { status: 200, description: 'the attempts', schema: 'WebhookDeliveryList' },
        errors: ['VALIDATION_FAILED', 'NOT_FOUND', ...ALWAYS],
      }),
    },
  };
}
