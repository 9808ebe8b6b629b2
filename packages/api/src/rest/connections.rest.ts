import {
  CreateConnectionRequestSchema,
  HistoryQuerySchema,
  IdempotencyKeySchema,
  IdSchema,
  RestListConnectionsQuerySchema,
  TestSettingsRequestSchema,
  UpdateConnectionRequestSchema,
  ValidateSchemaInputSchema,
} from '@dbconn/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConnectionService } from '../services/connections.service.js';
import type { HistoryService } from '../services/history.service.js';
import type { SchemaService } from '../services/schema.service.js';
import type { VerificationService } from '../services/verification.service.js';
import { requestContext } from './context.js';
import { foldMetadataQuery, IfMatchSchema, parseRequest } from './request.js';

export const CONNECTIONS_PATH = '/v1/management/connections';

const IdParams = z.object({ id: IdSchema });
/** Built once: a zod schema is an object graph, and a create would otherwise build this one per request. */
const OptionalIdempotencyKey = IdempotencyKeySchema.optional();
/** The version as an entity tag, so `If-Match` can echo what GET returned. */
const etag = (connection: { version: number }) => `"${connection.version}"`;

/** The REST door (docs/contract.md §2): parse the HTTP request, call the service, let the error handler map errors. */
export interface ConnectionServices {
  connections: ConnectionService;
  verification: VerificationService;
  schemas: SchemaService;
  history: HistoryService;
}

export function registerConnectionRoutes(
  app: FastifyInstance,
  { connections, verification, schemas, history }: ConnectionServices,
): void {
  app.post(CONNECTIONS_PATH, async (req, reply) => {
    const { productName, body, idempotencyKey } = parseRequest(
      req,
      {
        body: { schema: CreateConnectionRequestSchema, value: req.body },
        idempotencyKey: {
          schema: OptionalIdempotencyKey,
          value: req.headers['idempotency-key'],
          prefix: 'Idempotency-Key',
          header: true,
        },
      },
      { required: true },
    );
    const created = await connections.create(
      requestContext(req),
      { ...body, productName },
      { idempotencyKey },
    );
    return reply
      .status(201)
      .header('location', `${CONNECTIONS_PATH}/${created.id}`)
      .header('etag', etag(created))
      .send(created);
  });

  app.get(CONNECTIONS_PATH, async (req) => {
    const { productName, query } = parseRequest(
      req,
      { query: { schema: RestListConnectionsQuerySchema, value: foldMetadataQuery(req.query) } },
      { required: false },
    );
    return connections.list(requestContext(req), query, { productName });
  });

  app.get(`${CONNECTIONS_PATH}/unassigned`, async (req) => {
    const { query } = parseRequest(
      req,
      { query: { schema: RestListConnectionsQuerySchema, value: foldMetadataQuery(req.query) } },
      { required: false },
    );
    return connections.listUnassigned(requestContext(req), query);
  });

  app.post(`${CONNECTIONS_PATH}/:id/assign`, async (req, reply) => {
    const { productName, params } = parseRequest(
      req,
      { params: { schema: IdParams, value: req.params } },
      { required: true },
    );
    const assigned = await connections.assign(requestContext(req), params.id, productName as string);
    return reply.header('etag', etag(assigned)).send(assigned);
  });

  app.post(`${CONNECTIONS_PATH}/test`, async (req) => {
    const { productName, body } = parseRequest(
      req,
      { body: { schema: TestSettingsRequestSchema, value: req.body } },
      { required: false },
    );
    return verification.testSettings(requestContext(req), body, { productName });
  });

  app.post(`${CONNECTIONS_PATH}/validate-schema`, async (req) => {
    const { productName, body } = parseRequest(
      req,
      { body: { schema: ValidateSchemaInputSchema, value: req.body } },
      { required: false },
    );
    return schemas.validateSchema(requestContext(req), body, { productName });
  });

  app.post(`${CONNECTIONS_PATH}/:id/test`, async (req) => {
    const { productName, params } = parseRequest(
      req,
      { params: { schema: IdParams, value: req.params } },
      { required: false },
    );
    return verification.test(requestContext(req), params.id, { productName });
  });

  app.get(`${CONNECTIONS_PATH}/:id/schema`, async (req) => {
    const { productName, params } = parseRequest(
      req,
      { params: { schema: IdParams, value: req.params } },
      { required: false },
    );
    return schemas.schema(requestContext(req), params.id, { productName });
  });

  app.get(`${CONNECTIONS_PATH}/:id/history`, async (req) => {
    const { productName, params, query } = parseRequest(
      req,
      {
        params: { schema: IdParams, value: req.params },
        query: { schema: HistoryQuerySchema, value: req.query },
      },
      { required: false },
    );
    return history.list(requestContext(req), params.id, query, { productName });
  });

  app.get(`${CONNECTIONS_PATH}/:id`, async (req, reply) => {
    const { productName, params } = parseRequest(
      req,
      { params: { schema: IdParams, value: req.params } },
      { required: false },
    );
    const found = await connections.get(requestContext(req), params.id, { productName });
    return reply.header('etag', etag(found)).send(found);
  });

  app.patch(`${CONNECTIONS_PATH}/:id`, async (req, reply) => {
    const { productName, params, body, ifMatch } = parseRequest(
      req,
      {
        params: { schema: IdParams, value: req.params },
        body: { schema: UpdateConnectionRequestSchema, value: req.body },
        ifMatch: { schema: IfMatchSchema, value: req.headers['if-match'], prefix: 'If-Match', header: true },
      },
      { required: false },
    );
    const updated = await connections.update(requestContext(req), params.id, body, {
      productName,
      expectedVersion: ifMatch,
    });
    return reply.header('etag', etag(updated)).send(updated);
  });

  app.delete(`${CONNECTIONS_PATH}/:id`, async (req, reply) => {
    const { productName, params } = parseRequest(
      req,
      { params: { schema: IdParams, value: req.params } },
      { required: false },
    );
    await connections.delete(requestContext(req), params.id, { productName });
    return reply.status(204).send();
  });
}
