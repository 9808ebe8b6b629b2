import { ListConnectionsQuerySchema } from '@dbconn/shared';
import { publicProcedure } from '../../trpc/trpc.js';

export const listConnections = publicProcedure
  .input(ListConnectionsQuerySchema)
  .query(({ ctx, input }) => ctx.connections.list(ctx, input));
