import { IdSchema, ProductNameSchema, RestListConnectionsQuerySchema } from '@dbconn/shared';
import { z } from 'zod';
import { authorizedProcedure } from '../../trpc/trpc.js';

export const listUnassignedConnections = authorizedProcedure
  .input(RestListConnectionsQuerySchema)
  .query(({ ctx, input }) => ctx.connections.listUnassigned(ctx, input));

export const AssignConnectionInput = z.strictObject({ id: IdSchema, productName: ProductNameSchema });

export const assignConnection = authorizedProcedure
  .input(AssignConnectionInput)
  .mutation(({ ctx, input }) => ctx.connections.assign(ctx, input.id, input.productName));
