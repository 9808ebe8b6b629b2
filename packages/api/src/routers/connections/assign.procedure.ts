import { IdSchema, ProductNameSchema, RestListConnectionsQuerySchema } from '@dbconn/shared';
import { z } from 'zod';
import { publicProcedure } from '../../trpc/trpc.js';

export const listUnassignedConnections = publicProcedure
  .input(RestListConnectionsQuerySchema)
  .query(({ ctx, input }) => ctx.connections.listUnassigned(ctx, input));

export const AssignConnectionInput = z.strictObject({ id: IdSchema, productName: ProductNameSchema });

export const assignConnection = publicProcedure
  .input(AssignConnectionInput)
  .mutation(({ ctx, input }) => ctx.connections.assign(ctx, input.id, input.productName));
