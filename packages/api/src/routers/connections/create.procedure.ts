import {
  CreateConnectionInputSchema,
  IdempotencyKeySchema,
  ProductNameSchema,
  withConnectionString,
} from '@dbconn/shared';
import { authorizedProcedure } from '../../trpc/trpc.js';

/**
 * tRPC takes the product as an input field; without one, internal apps create unassigned
 * connections. `connectionString` may stand in for the fields it carries. `idempotencyKey` is the
 * REST door's Idempotency-Key header.
 */
export const CreateConnectionProcedureInput = withConnectionString(
  CreateConnectionInputSchema.extend({
    productName: ProductNameSchema.optional(),
    idempotencyKey: IdempotencyKeySchema.optional(),
  }),
  'create',
);

export const createConnection = authorizedProcedure
  .input(CreateConnectionProcedureInput)
  .mutation(({ ctx, input: { idempotencyKey, ...input } }) =>
    ctx.connections.create(ctx, input, { idempotencyKey }),
  );
