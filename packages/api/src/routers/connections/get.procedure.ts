import { IdSchema, ProductNameSchema } from '@dbconn/shared';
import { z } from 'zod';
import { publicProcedure } from '../../trpc/trpc.js';

export const ConnectionRefInput = z.strictObject({ id: IdSchema, productName: ProductNameSchema.optional() });

export const getConnection = publicProcedure
  .input(ConnectionRefInput)
  .query(({ ctx, input }) => ctx.connections.get(ctx, input.id, input));
