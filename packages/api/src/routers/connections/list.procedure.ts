import { ListConnectionsQuerySchema } from '@dbconn/shared';
import { authorizedProcedure } from '../../trpc/trpc.js';

export const listConnections = authorizedProcedure
  .input(ListConnectionsQuerySchema)
  .query(({ ctx, input }) => ctx.connections.list(ctx, input));
