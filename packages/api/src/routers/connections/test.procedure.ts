import { ProductNameSchema, TestSettingsInputSchema, withConnectionString } from '@dbconn/shared';
import { authorizedProcedure } from '../../trpc/trpc.js';
import { ConnectionRefInput } from './get.procedure.js';

/** connections.test: verify a stored connection now (through the worker) and record the result. */
export const testConnection = authorizedProcedure
  .input(ConnectionRefInput)
  .mutation(({ ctx, input }) => ctx.verification.test(ctx, input.id, input));

export const TestSettingsProcedureInput = withConnectionString(
  TestSettingsInputSchema.safeExtend({ productName: ProductNameSchema.optional() }),
  'trial',
);

/** connections.testSettings: try settings that are never stored (before saving, or before a rotation). */
export const testSettings = authorizedProcedure
  .input(TestSettingsProcedureInput)
  .mutation(({ ctx, input }) => {
    const { productName, ...settings } = input;
    return ctx.verification.testSettings(ctx, settings, { productName });
  });
