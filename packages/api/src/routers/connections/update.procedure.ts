import {
  IdSchema,
  ProductNameSchema,
  UpdateConnectionInputSchema,
  withConnectionString,
} from '@dbconn/shared';
import { z } from 'zod';
import { authorizedProcedure } from '../../trpc/trpc.js';

/**
 * `productName` scopes the call (as X-Product-Name does on REST); `expectedVersion` is If-Match;
 * `connectionString` may stand in for the fields it carries.
 */
export const UpdateConnectionProcedureInput = withConnectionString(
  UpdateConnectionInputSchema.extend({
    id: IdSchema,
    productName: ProductNameSchema.optional(),
    expectedVersion: z.number().int().positive().optional(),
  }),
  'change',
);

export const updateConnection = authorizedProcedure
  .input(UpdateConnectionProcedureInput)
  .mutation(({ ctx, input }) => {
    const { id, productName, expectedVersion, ...changes } = input;
    return ctx.connections.update(ctx, id, changes, { productName, expectedVersion });
  });
