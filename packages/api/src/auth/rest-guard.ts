import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessControl } from './access-control.js';
import { PROTECTED_PREFIX, restAction } from './operations.js';

/**
 * Every REST route under `/v1/` asks access control first, with its action from the operations
 * table (docs/contract.md §8); a route without an entry stops the start instead of being open.
 * Call before the routes are registered. The caller's organization and subject land on the request.
 */
export function guardRestRoutes(app: FastifyInstance, access: AccessControl): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(PROTECTED_PREFIX)) return;
    for (const method of [route.method].flat()) {
      const action = restAction(method, route.url);
      if (!action) {
        throw new Error(`${method} ${route.url} has no access rule: add it to auth/operations.ts`);
      }
      const authorize = async (req: FastifyRequest) => {
        const identity = await access.authorize(
          { authorization: req.headers.authorization, log: req.log },
          action,
        );
        req.organizationId = identity.organizationId;
        req.subject = identity.subject;
        if (identity.subject) req.log = req.log.child({ subject: identity.subject });
      };
      route.onRequest = [...[route.onRequest ?? []].flat(), authorize];
    }
  });
}
