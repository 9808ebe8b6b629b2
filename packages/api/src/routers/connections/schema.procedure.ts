import { ProductNameSchema, ValidateSchemaInputSchema } from '@dbconn/shared';
import { authorizedProcedure } from '../../trpc/trpc.js';
import { ConnectionRefInput } from './get.procedure.js';

/** connections.schema: tables and fields, discovered by the worker, cached per dialled version. */
export const connectionSchema = authorizedProcedure
  .input(ConnectionRefInput)
  .query(({ ctx, input }) => ctx.schemas.schema(ctx, input.id, input));

export const ValidateSchemaProcedureInput = ValidateSchemaInputSchema.extend({
  productName: ProductNameSchema.optional(),
});

/** connections.validateSchema: every mapped table and field exists, or a 422 listing what does not. */
export const validateSchema = authorizedProcedure
  .input(ValidateSchemaProcedureInput)
  .mutation(({ ctx, input }) => ctx.schemas.validateSchema(ctx, input, input));
