import { CreateConnectionInputSchema, ProductNameSchema } from '@dbconn/shared';
import { authorizedProcedure } from '../../trpc/trpc.js';

/** tRPC takes the product as an input field; without one, internal apps create unassigned connections. */
export const CreateConnectionProcedureInput = CreateConnectionInputSchema.extend({
  productName: ProductNameSchema.optional(),
});

export const createConnection = authorizedProcedure
  .input(CreateConnectionProcedureInput)
  .mutation(({ ctx, input }) => ctx.connections.create(ctx, input));
