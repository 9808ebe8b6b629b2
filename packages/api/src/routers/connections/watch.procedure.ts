import { publicProcedure } from '../../trpc/trpc.js';
import { ConnectionRefInput } from './get.procedure.js';

/**
 * connections.watch: a subscription (SSE through httpSubscriptionLink) that emits the connection
 * now and at each status change, and ends once it is active or failed.
 */
export const watchConnection = publicProcedure
  .input(ConnectionRefInput)
  .subscription(({ ctx, input, signal }) => ctx.verification.watch(ctx, input.id, input, signal));
