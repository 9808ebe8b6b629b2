import { HistoryQuerySchema, IdSchema, ProductNameSchema } from '@dbconn/shared';
import { authorizedProcedure } from '../../trpc/trpc.js';

/** A page of a connection's history, newest first (docs/contract.md §11). */
export const ConnectionHistoryInput = HistoryQuerySchema.extend({
  id: IdSchema,
  productName: ProductNameSchema.optional(),
});

export const connectionHistory = authorizedProcedure
  .input(ConnectionHistoryInput)
  .query(({ ctx, input }) =>
    ctx.history.list(ctx, input.id, { limit: input.limit, cursor: input.cursor }, input),
  );
