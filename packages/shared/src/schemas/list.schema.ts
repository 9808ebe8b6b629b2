import { z } from 'zod';
import {
  CONNECTION_STATUSES,
  ConnectionSchema,
  ConnectionTypeSchema,
  ProductNameSchema,
} from './connection.schema.js';
import { refuseUnstorableKeys, storableString, whenObject } from './text-rules.js';
import { WARNING_CODES } from './warnings.js';

// ---- list (docs/contract.md §2) ----

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const dateParam = (what: string) =>
  z
    .string()
    .regex(DATE, `${what} must be a date as YYYY-MM-DD`)
    .refine(
      (d) =>
        !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
      `${what} is not a real date`,
    );

/** Integers from a query string ("2") or from JSON (2); "2.5", "abc" and "" are errors. */
export const intParam = (what: string, min: number, max: number, fallback: number) =>
  z
    .union([z.number(), z.string().regex(/^\d+$/, `${what} must be an integer`).transform(Number)])
    .pipe(
      z
        .number()
        .int(`${what} must be an integer`)
        .min(min, `${what} must be between ${min} and ${max}`)
        .max(max, `${what} must be between ${min} and ${max}`),
    )
    .default(fallback);

const listFilters = {
  page: intParam('page', 1, 1_000_000, 1),
  limit: intParam('limit', 1, 100, 10),
  sortOrder: z
    .string()
    .toLowerCase()
    .pipe(z.enum(['asc', 'desc'], { error: 'sortOrder must be asc or desc' }))
    .default('desc'),
  type: ConnectionTypeSchema.optional(),
  status: z
    .enum(CONNECTION_STATUSES, { error: `status must be one of ${CONNECTION_STATUSES.join(', ')}` })
    .optional(),
  startDate: dateParam('startDate').optional(),
  endDate: dateParam('endDate').optional(),
  warning: z
    .string()
    .trim()
    .toUpperCase()
    .pipe(z.enum(WARNING_CODES, { error: `warning must be one of ${WARNING_CODES.join(', ')}` }))
    .optional(),
  metadata: z
    .record(
      z.string().min(1).max(100, 'metadata keys must be at most 100 characters'),
      storableString('metadata filter values', 'each metadata filter must be given once, as a string').max(
        2000,
      ),
    )
    .superRefine(refuseUnstorableKeys('metadata filter keys'), whenObject)
    .optional(),
};

const datesInOrder = {
  check: (q: { startDate?: string | undefined; endDate?: string | undefined }) =>
    !q.startDate || !q.endDate || q.startDate <= q.endDate,
  params: { path: ['endDate'], message: 'endDate must not be before startDate', ...whenObject },
};

/** List filters as tRPC takes them (the product is an input field). */
export const ListConnectionsQuerySchema = z
  .strictObject({ ...listFilters, productName: ProductNameSchema.optional() })
  .refine(datesInOrder.check, datesInOrder.params);

/** List filters as REST takes them in the query string (the product comes from X-Product-Name). */
export const RestListConnectionsQuerySchema = z
  .strictObject(listFilters)
  .refine(datesInOrder.check, datesInOrder.params);

export type ListConnectionsQuery = z.output<typeof ListConnectionsQuerySchema>;

export const ConnectionPageSchema = z.object({
  items: z.array(ConnectionSchema),
  page: z.number().int(),
  limit: z.number().int(),
  total: z.number().int(),
});
export type ConnectionPage = z.infer<typeof ConnectionPageSchema>;
