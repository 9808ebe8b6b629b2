import { z } from 'zod';
import { authorizedProcedure } from '../../trpc/trpc.js';
import { TestSettingsProcedureInput } from './test.procedure.js';

/**
 * connections.startTrial: try before save, step one. Takes the same input as testSettings, checks
 * and seals it, and answers a trial id; nothing is dialled until the trial is watched.
 */
export const startTrial = authorizedProcedure.input(TestSettingsProcedureInput).mutation(({ ctx, input }) => {
  const { productName, ...settings } = input;
  return ctx.verification.startTrial(ctx, settings, { productName });
});

export const WatchTrialInput = z.strictObject({ trialId: z.uuid() });

/**
 * connections.watchTrial: step two, a subscription (SSE). Runs the trial and streams each stage as
 * the worker finishes it (`kind: 'stage'`), then the result (`kind: 'result'`, as testSettings
 * answers), and ends.
 */
export const watchTrial = authorizedProcedure
  .input(WatchTrialInput)
  .subscription(({ ctx, input, signal }) => ctx.verification.watchTrial(ctx, input.trialId, signal));
