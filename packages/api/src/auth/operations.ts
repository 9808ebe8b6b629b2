import { CONNECTIONS_PATH } from '../rest/connections.rest.js';
import { WEBHOOKS_PATH } from '../rest/webhooks.rest.js';

/**
 * What a call asks the Access Manager for (docs/contract.md §8): `post` creates or dials, `get`
 * reads, `patch` changes, `delete` removes. The resource is always `connections`.
 */
export type Action = 'post' | 'get' | 'patch' | 'delete';

export const AUTH_RESOURCE = 'connections';

/**
 * Every REST route and every tRPC procedure, with its action. One table for both doors, so the same
 * operation asks the same question whichever door it came through. A REST route under `/v1/` that
 * is not here stops the server at start, and a procedure that is not here is refused (FORBIDDEN):
 * nothing is reachable without an entry.
 */
export const REST_OPERATIONS: Readonly<Record<string, Action>> = {
  [`POST ${CONNECTIONS_PATH}`]: 'post',
  [`GET ${CONNECTIONS_PATH}`]: 'get',
  [`GET ${CONNECTIONS_PATH}/unassigned`]: 'get',
  [`POST ${CONNECTIONS_PATH}/:id/assign`]: 'post',
  [`POST ${CONNECTIONS_PATH}/test`]: 'post',
  [`POST ${CONNECTIONS_PATH}/validate-schema`]: 'post',
  [`POST ${CONNECTIONS_PATH}/:id/test`]: 'post',
  [`GET ${CONNECTIONS_PATH}/:id/schema`]: 'get',
  [`GET ${CONNECTIONS_PATH}/:id/history`]: 'get',
  [`GET ${CONNECTIONS_PATH}/:id`]: 'get',
  [`PATCH ${CONNECTIONS_PATH}/:id`]: 'patch',
  [`DELETE ${CONNECTIONS_PATH}/:id`]: 'delete',
  [`POST ${WEBHOOKS_PATH}`]: 'post',
  [`GET ${WEBHOOKS_PATH}`]: 'get',
  [`GET ${WEBHOOKS_PATH}/:id`]: 'get',
  [`PATCH ${WEBHOOKS_PATH}/:id`]: 'patch',
  [`DELETE ${WEBHOOKS_PATH}/:id`]: 'delete',
  [`POST ${WEBHOOKS_PATH}/:id/rotate-secret`]: 'post',
  [`GET ${WEBHOOKS_PATH}/:id/deliveries`]: 'get',
};

export const TRPC_OPERATIONS: Readonly<Record<string, Action>> = {
  'connections.create': 'post',
  'connections.get': 'get',
  'connections.list': 'get',
  'connections.update': 'patch',
  'connections.delete': 'delete',
  'connections.listUnassigned': 'get',
  'connections.assign': 'post',
  'connections.test': 'post',
  'connections.testSettings': 'post',
  // Try before save, live: starting and watching a trial are both part of trying (post).
  'connections.startTrial': 'post',
  'connections.watchTrial': 'post',
  'connections.schema': 'get',
  'connections.validateSchema': 'post',
  'connections.watch': 'get',
  'connections.history': 'get',
  'webhooks.create': 'post',
  'webhooks.list': 'get',
  'webhooks.get': 'get',
  'webhooks.update': 'patch',
  'webhooks.delete': 'delete',
  'webhooks.rotateSecret': 'post',
  'webhooks.deliveries': 'get',
};

/** Paths every caller reaches without a token (probes; /metrics has METRICS_TOKEN; the dashboard its own credentials). */
export const PROTECTED_PREFIX = '/v1/';

/** The action of a REST route (`HEAD` is GET's), or undefined when the table has no entry. */
export function restAction(method: string, url: string): Action | undefined {
  return REST_OPERATIONS[`${method === 'HEAD' ? 'GET' : method} ${url}`];
}

/** The action of a tRPC procedure path (`connections.get`), or undefined when the table has no entry. */
export function trpcAction(path: string): Action | undefined {
  return Object.hasOwn(TRPC_OPERATIONS, path) ? TRPC_OPERATIONS[path] : undefined;
}
