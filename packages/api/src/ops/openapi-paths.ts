import { CONNECTIONS_PATH } from '../rest/connections.rest.js';
import type { OpenApiDocument } from './openapi-components.js';
import {
  ALWAYS,
  BODY,
  ETAG,
  header,
  historyParameters,
  idempotencyKeyHeader,
  idParameter,
  ifMatchHeader,
  listParameters,
  operation,
  productHeader,
  WORKER,
} from './openapi-operations.js';
import { webhookPaths } from './openapi-webhooks.js';

/** Every route of the OpenAPI document, with its answers. */
const SCOPED = 'Optional: when sent, only that product’s connections are visible (others answer 404).';

export function paths(): OpenApiDocument['paths'] {
  const base = CONNECTIONS_PATH;
  const byId = `${base}/{id}`;
  const scoped = productHeader(false, SCOPED);
  return {
    [base]: {
      post: operation({
        operationId: 'createConnection',
        summary: 'Create a connection',
        description:
          'Stores the connection (secrets sealed) with status `pending` and enqueues its verification.',
        parameters: [
          productHeader(true, 'Required: the product the connection belongs to.'),
          idempotencyKeyHeader,
        ],
        body: 'CreateConnectionInput',
        success: {
          status: 201,
          description: 'created',
          schema: 'Connection',
          headers: { Location: header('the new connection’s URL'), ETag: ETAG },
        },
        // RATE_LIMITED: creates that enqueue a dial are limited per organization.
        errors: [
          'VALIDATION_FAILED',
          'INVALID_HEADER',
          'CONFIG_NAME_TAKEN',
          'IDEMPOTENCY_KEY_IN_PROGRESS',
          'IDEMPOTENCY_KEY_REUSED',
          'RATE_LIMITED',
          ...BODY,
          ...ALWAYS,
        ],
      }),
      get: operation({
        operationId: 'listConnections',
        summary: 'List connections',
        parameters: [...listParameters(), productHeader(false, 'Optional: only this product’s connections.')],
        success: { status: 200, description: 'one page', schema: 'ConnectionPage' },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', ...ALWAYS],
      }),
    },
    [`${base}/unassigned`]: {
      get: operation({
        operationId: 'listUnassignedConnections',
        summary: 'List connections without a product',
        parameters: [
          ...listParameters(),
          productHeader(
            false,
            'Checked when sent, but not a filter here: these connections have no product.',
          ),
        ],
        success: { status: 200, description: 'one page', schema: 'ConnectionPage' },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', ...ALWAYS],
      }),
    },
    [byId]: {
      get: operation({
        operationId: 'getConnection',
        summary: 'Get a connection',
        parameters: [idParameter, scoped],
        success: {
          status: 200,
          description: 'the connection',
          schema: 'Connection',
          headers: { ETag: ETAG },
        },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...ALWAYS],
      }),
      patch: operation({
        operationId: 'updateConnection',
        summary: 'Update a connection (partial)',
        description:
          'Absent fields are unchanged; an omitted or empty password keeps the stored one; `ssl: null` removes SSL; `metadata` replaces the map. A change to what is dialled sends the connection back to `pending`.',
        parameters: [idParameter, scoped, ifMatchHeader],
        body: 'UpdateConnectionInput',
        success: {
          status: 200,
          description: 'the updated connection',
          schema: 'Connection',
          headers: { ETag: ETAG },
        },
        errors: [
          'VALIDATION_FAILED',
          'INVALID_HEADER',
          'NOT_FOUND',
          'CONFIG_NAME_TAKEN',
          'VERSION_MISMATCH',
          'RATE_LIMITED',
          ...BODY,
          ...ALWAYS,
        ],
      }),
      delete: operation({
        operationId: 'deleteConnection',
        summary: 'Delete a connection (soft; the name becomes free again)',
        parameters: [idParameter, scoped],
        success: { status: 204, description: 'deleted' },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...BODY, ...ALWAYS],
      }),
    },
    [`${byId}/test`]: {
      post: operation({
        operationId: 'testConnection',
        summary: 'Verify a stored connection now',
        description: 'Runs the verification in the worker, waits for it (bounded) and records the result.',
        parameters: [idParameter, scoped],
        success: {
          status: 200,
          description: 'the result (a failed check is still a 200)',
          schema: 'TestResult',
        },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...WORKER, ...BODY, ...ALWAYS],
      }),
    },
    [`${base}/test`]: {
      post: operation({
        operationId: 'testSettings',
        summary: 'Verify settings that are not stored',
        description:
          'A full create body (try before save), or `{"id": ..., <fields that change>}` to try e.g. a new password on a stored connection. Nothing is stored.',
        parameters: [scoped],
        body: 'TestSettingsInput',
        success: {
          status: 200,
          description: 'the result (a failed check is still a 200)',
          schema: 'TestResult',
        },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...WORKER, ...BODY, ...ALWAYS],
      }),
    },
    [`${byId}/schema`]: {
      get: operation({
        operationId: 'getConnectionSchema',
        summary: 'Tables and fields of a connection',
        description: 'Discovered by the worker; cached per connection version.',
        parameters: [idParameter, scoped],
        success: { status: 200, description: 'the tables, sorted', schema: 'ConnectionSchemaResponse' },
        errors: [
          'VALIDATION_FAILED',
          'INVALID_HEADER',
          'NOT_FOUND',
          'DATA_SOURCE_DOWN',
          ...WORKER,
          ...ALWAYS,
        ],
      }),
    },
    [`${base}/validate-schema`]: {
      post: operation({
        operationId: 'validateSchema',
        summary: 'Check that mapped tables and fields exist',
        parameters: [scoped],
        body: 'ValidateSchemaInput',
        success: { status: 200, description: 'everything exists', schema: 'ValidateSchemaResult' },
        errors: [
          'VALIDATION_FAILED',
          'INVALID_HEADER',
          'SCHEMA_VALIDATION_FAILED',
          ...WORKER,
          ...BODY,
          ...ALWAYS,
        ],
      }),
    },
    [`${byId}/history`]: {
      get: operation({
        operationId: 'getConnectionHistory',
        summary: 'What happened to a connection, newest first',
        description:
          'Changes (created, updated with the names of the fields that changed — never values, assigned, deleted) with the subject that made them, and every verification outcome with its reason (created, changed, periodic, test, sweeper). Kept HISTORY_RETENTION_DAYS (90 by default). A deleted connection’s history stays readable; another organization’s answers 404.',
        parameters: [idParameter, ...historyParameters(), scoped],
        success: { status: 200, description: 'one page', schema: 'HistoryPage' },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', ...ALWAYS],
      }),
    },
    [`${byId}/assign`]: {
      post: operation({
        operationId: 'assignConnection',
        summary: 'Give an unassigned connection a product (once)',
        parameters: [idParameter, productHeader(true, 'Required: the product to assign.')],
        success: {
          status: 200,
          description: 'the assigned connection',
          schema: 'Connection',
          headers: { ETag: ETAG },
        },
        errors: ['VALIDATION_FAILED', 'INVALID_HEADER', 'NOT_FOUND', 'ALREADY_ASSIGNED', ...BODY, ...ALWAYS],
      }),
    },
    ...webhookPaths(),
    '/health': {
      get: operation({
        operationId: 'health',
        summary: 'The process is up',
        tag: 'operations',
        success: { status: 200, description: 'up', schema: 'Health' },
        errors: ['INTERNAL'],
      }),
    },
    '/ready': {
      get: operation({
        operationId: 'ready',
        summary: 'The store and Redis answer',
        tag: 'operations',
        success: { status: 200, description: 'ready', schema: 'Ready' },
        errors: ['UNAVAILABLE', 'INTERNAL'],
      }),
    },
  };
}
