import { z } from 'zod';
import { intParam } from './list.schema.js';
import { WARNING_CODES } from './warnings.js';

/**
 * A connection's history (docs/contract.md §11): what was done to it, by whom, and what each
 * verification found. Entries hold names and codes only — never a value that was changed.
 */

/** Changes made through the API. */
export const CHANGE_ACTIONS = ['created', 'updated', 'assigned', 'deleted'] as const;
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];

/** Why a verification ran: after create, after a change to what is dialled, the periodic pass, test now, the sweeper. */
export const VERIFICATION_REASONS = ['created', 'changed', 'periodic', 'test', 'sweeper'] as const;
export type VerificationReason = (typeof VERIFICATION_REASONS)[number];

const entryBase = {
  id: z.uuid(),
  connectionId: z.uuid(),
  at: z.iso.datetime(),
};

export const ChangeHistoryEntrySchema = z.object({
  ...entryBase,
  kind: z.literal('change'),
  action: z.enum(CHANGE_ACTIONS),
  fields: z
    .array(z.string())
    .optional()
    .meta({ description: 'updated: the names of the fields that changed (never their values), sorted' }),
  subject: z
    .string()
    .nullable()
    .meta({ description: 'who did it (the token’s subject); null when auth was off' }),
});

export const VerificationHistoryEntrySchema = z.object({
  ...entryBase,
  kind: z.literal('verification'),
  reason: z.enum(VERIFICATION_REASONS),
  status: z.enum(['active', 'failed']),
  statusChanged: z
    .boolean()
    .meta({ description: 'true when this result changed the settled status (or was the first one)' }),
  stage: z.string().optional().meta({ description: 'failed: the stage that failed' }),
  code: z.string().optional().meta({ description: 'failed: the stable failure code' }),
  warnings: z
    .array(z.enum(WARNING_CODES))
    .optional()
    .meta({ description: 'passed: the codes of its warnings (docs/contract.md §12), when it had any' }),
  latencyMs: z.number().int().nonnegative(),
});

export const HistoryEntrySchema = z.discriminatedUnion('kind', [
  ChangeHistoryEntrySchema,
  VerificationHistoryEntrySchema,
]);
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;
export type ChangeHistoryEntry = z.infer<typeof ChangeHistoryEntrySchema>;
export type VerificationHistoryEntry = z.infer<typeof VerificationHistoryEntrySchema>;

/** An opaque position in a history: base64url of the last entry's id (the caller only echoes it). */
export const HistoryCursorSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'cursor must be a value a previous page returned as nextCursor')
  .transform((cursor, ctx) => {
    const id = Buffer.from(cursor, 'base64url').toString('utf8');
    if (!z.uuid().safeParse(id).success) {
      ctx.addIssue({
        code: 'custom',
        message: 'cursor must be a value a previous page returned as nextCursor',
      });
      return z.NEVER;
    }
    return id;
  });

export const encodeHistoryCursor = (entryId: string) => Buffer.from(entryId, 'utf8').toString('base64url');

/** `?limit=&cursor=` of GET /{id}/history. */
export const HistoryQuerySchema = z.strictObject({
  limit: intParam('limit', 1, 100, 20),
  cursor: HistoryCursorSchema.optional(),
});
export type HistoryQuery = z.output<typeof HistoryQuerySchema>;

export const HistoryPageSchema = z.object({
  items: z.array(HistoryEntrySchema).meta({ description: 'newest first' }),
  nextCursor: z.string().optional().meta({ description: 'absent on the last page' }),
});
export type HistoryPage = z.infer<typeof HistoryPageSchema>;

/** The window of `availability` on the resource. */
export const AVAILABILITY_WINDOW_DAYS = 30;
