import { z } from 'zod';
import { authorizedProcedure } from '../../trpc/trpc.js';
import { ConnectionRefInput } from './get.procedure.js';

/**
 * `stages: true` adds an event per finished stage of a running verification (live progress);
 * `next: true` follows a settled connection until its next result instead of ending at once.
 */
export const WatchConnectionInput = ConnectionRefInput.extend({
  stages: z.boolean().optional(),
  next: z.boolean().optional(),
});

/**
 * connections.watch: a subscription (SSE through httpSubscriptionLink) that emits the connection
 * now and at each status change, and ends once it is active or failed.
 */
export const watchConnection = authorizedProcedure
  .input(WatchConnectionInput)
  .subscription(async ({ ctx, input, signal }) => {
    // An unknown id fails the request itself (NOT_FOUND) instead of an event on an open stream.
    await ctx.connections.get(ctx, input.id, input);
    const { stages, next, ...scope } = input;
    return ctx.verification.watch(ctx, input.id, scope, signal, { stages, next });
  });
