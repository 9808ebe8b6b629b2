import { authorizedProcedure } from '../../trpc/trpc.js';
import { ConnectionRefInput } from './get.procedure.js';

export const deleteConnection = authorizedProcedure
  .input(ConnectionRefInput)
  .mutation(async ({ ctx, input }) => {
    await ctx.connections.delete(ctx, input.id, input);
    return { id: input.id, deleted: true as const };
  });
