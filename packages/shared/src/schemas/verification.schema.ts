import { z } from 'zod';
import { STAGE_NAMES, VERIFICATION_CODE_NAMES } from './verification-codes.js';
import { WarningSchema } from './warnings.js';

// ---- verification result (docs/contract.md §6) ----

export const StageResultSchema = z.object({
  name: z.enum(STAGE_NAMES),
  status: z.enum(['ok', 'failed', 'skipped']),
  durationMs: z.number().nonnegative(),
  code: z.enum(VERIFICATION_CODE_NAMES).optional(),
});
export type StageResult = z.infer<typeof StageResultSchema>;

export const VerificationErrorSchema = z.object({
  stage: z.enum(STAGE_NAMES),
  code: z.enum(VERIFICATION_CODE_NAMES),
  message: z.string(),
  hint: z.string(),
});
export type VerificationError = z.infer<typeof VerificationErrorSchema>;

export const VerificationSchema = z.object({
  outcome: z.enum(['passed', 'failed']),
  checkedAt: z.iso.datetime(),
  latencyMs: z.number().nonnegative(),
  attempts: z.number().int().positive().optional(),
  stages: z.array(StageResultSchema),
  error: VerificationErrorSchema.optional(),
  /** A passing verification's warnings (docs/contract.md §12); absent when there are none. */
  warnings: z.array(WarningSchema).optional(),
  server: z
    .object({
      version: z.string().optional(),
      /** The address that answered in the tcp stage (a name may resolve to several). */
      address: z.string().optional(),
      tls: z
        .object({
          version: z.string(),
          cipher: z.string(),
          certExpiresAt: z.iso.datetime().optional(),
        })
        .optional(),
    })
    .optional(),
});
export type Verification = z.infer<typeof VerificationSchema>;
