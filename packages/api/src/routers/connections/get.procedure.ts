import { IdSchema, ProductNameSchema } from '@dbconn/shared';
import { z } from 'zod';
import { authorizedProcedure } from '../../trpc/trpc.js';

export const ConnectionRefInput = z.strictObject({ id: IdSchema, productName: ProductNameSchema.optional() });

export const getConnection = authorizedProcedure
  .input(ConnectionRefInput)
  .query(({ ctx, input }) => ctx.connections.get(ctx, input.id, input));
