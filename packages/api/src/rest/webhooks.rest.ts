import {
  CreateWebhookInputSchema,
  IdSchema,
  UpdateWebhookInputSchema,
  WebhookDeliveriesQuerySchema,
} from '@dbconn/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { WebhookService } from '../services/webhooks.service.js';
import { requestContext } from './context.js';
import { parseRequest } from './request.js';

export const WEBHOOKS_PATH = '/v1/management/webhooks';

const IdParams = z.object({ id: IdSchema });

/** The REST door of webhooks (docs/contract.md §11): parse, call the service. */
export function registerWebhookRoutes(app: FastifyInstance, webhooks: WebhookService): void {
  app.post(WEBHOOKS_PATH, async (req, reply) => {
    const { body } = parseRequest(
      req,
      { body: { schema: CreateWebhookInputSchema, value: req.body } },
      { required: false },
    );
    const created = await webhooks.create(requestContext(req), body);
    return reply.status(201).header('location', `${WEBHOOKS_PATH}/${created.id}`).send(created);
  });

  app.get(WEBHOOKS_PATH, async (req) => {
    parseRequest(req, {}, { required: false });
    return webhooks.list(requestContext(req));
  });

  app.get(`${WEBHOOKS_PATH}/:id`, async (req) => {
    const { params } = parseRequest(
      req,
      { params: { schema: IdParams, value: req.params } },
      { required: false },
    );
    return webhooks.get(requestContext(req), params.id);
  });

  app.patch(`${WEBHOOKS_PATH}/:id`, async (req) => {
    const { params, body } = parseRequest(
      req,
      {
        params: { schema: IdParams, value: req.params },
        body: { schema: UpdateWebhookInputSchema, value: req.body },
      },
      { required: false },
    );
    return webhooks.update(requestContext(req), params.id, body);
  });

  app.delete(`${WEBHOOKS_PATH}/:id`, async (req, reply) => {
    const { params } = parseRequest(
      req,
      { params: { schema: IdParams, value: req.params } },
      { required: false },
    );
    await webhooks.delete(requestContext(req), params.id);
    return reply.status(204).send();
  });

  app.post(`${WEBHOOKS_PATH}/:id/rotate-secret`, async (req) => {
    const { params } = parseRequest(
      req,
      { params: { schema: IdParams, value: req.params } },
      { required: false },
    );
    return webhooks.rotateSecret(requestContext(req), params.id);
  });

  app.get(`${WEBHOOKS_PATH}/:id/deliveries`, async (req) => {
    const { params, query } = parseRequest(
      req,
      {
        params: { schema: IdParams, value: req.params },
        query: { schema: WebhookDeliveriesQuerySchema, value: req.query },
      },
      { required: false },
    );
    return webhooks.deliveries(requestContext(req), params.id, query.limit);
  });
}
