import { loadConfig } from '@dbconn/shared';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { appRouter } from '../router.js';
import { AccessControl } from './access-control.js';
import { restAction, TRPC_OPERATIONS, trpcAction } from './operations.js';
import { guardRestRoutes } from './rest-guard.js';

/** The one table of actions (docs/contract.md §8) covers both doors: nothing open, nothing stale. */
describe('auth/operations.ts', () => {
  const procedures = Object.keys(appRouter._def.procedures);

  it('gives every tRPC procedure an action, and names no procedure that does not exist', () => {
    expect(procedures.length).toBeGreaterThan(10);
    expect(procedures.filter((path) => trpcAction(path) === undefined)).toEqual([]);
    expect(Object.keys(TRPC_OPERATIONS).filter((path) => !procedures.includes(path))).toEqual([]);
  });

  it('stops the start when a REST route under /v1/ has no entry', async () => {
    const app = Fastify();
    const access = AccessControl.fromConfig(loadConfig({ NODE_ENV: 'test' }).auth, app.log);
    guardRestRoutes(app, access);
    expect(() => app.get('/v1/management/connections/:id/secrets', async () => 'open')).toThrow(
      /GET \/v1\/management\/connections\/:id\/secrets has no access rule/,
    );
    expect(() => app.put('/v1/management/connections/:id', async () => 'open')).toThrow(/no access rule/);
    // Routes outside /v1/ (probes, metrics, docs) are not the table's.
    expect(() => app.get('/health', async () => 'ok')).not.toThrow();
    await app.close();
  });

  it('treats HEAD as GET and inherited object keys as nothing', () => {
    expect(restAction('HEAD', '/v1/management/connections')).toBe('get');
    expect(trpcAction('constructor')).toBeUndefined();
    expect(trpcAction('__proto__')).toBeUndefined();
  });
});
