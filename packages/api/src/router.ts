import { connectionsRouter } from './routers/connections/index.js';
import { webhooksRouter } from './routers/webhooks/index.js';
import { router } from './trpc/trpc.js';

export const appRouter = router({
  connections: connectionsRouter,
  webhooks: webhooksRouter,
});

/** The router type internal TypeScript apps import for a fully typed client. */
export type AppRouter = typeof appRouter;
