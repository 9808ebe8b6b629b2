import { z } from 'zod';
import { CONNECTION_TYPES } from './connection.schema.js';
import { refuseUnstorableKeys, storableString, whenObject } from './text-rules.js';

// ---- schema discovery and validation (docs/contract.md §2) ----

export const ConnectionSchemaResponseSchema = z.object({
  id: z.uuid(),
  configName: z.string(),
  databaseName: z.string(),
  type: z.enum(CONNECTION_TYPES),
  schema: z.string(),
  tables: z.array(z.object({ name: z.string(), fields: z.array(z.string()) })),
});
export type ConnectionSchemaResponse = z.infer<typeof ConnectionSchemaResponseSchema>;

const limitedRecord = <T extends z.ZodType>(what: string, max: number, value: T) =>
  z
    .record(z.string().min(1, `${what} names must not be empty`).max(128), value, {
      error: `${what} must be an object`,
    })
    .superRefine(refuseUnstorableKeys(`${what} names`), whenObject)
    .refine((r) => Object.keys(r).length >= 1, {
      message: `give at least one ${what.replace(/s$/, '')}`,
      ...whenObject,
    })
    .refine((r) => Object.keys(r).length <= max, {
      message: `at most ${max} ${what} per request`,
      ...whenObject,
    });

/** POST /validate-schema: {mappedFields: {<configName>: {<table>: [field, ...]}}}; limits 10/20/50. */
export const ValidateSchemaInputSchema = z.strictObject({
  mappedFields: limitedRecord(
    'connections',
    10,
    limitedRecord(
      'tables',
      20,
      z
        .array(storableString('field names').min(1, 'field names must not be empty').max(128), {
          error: 'fields must be an array of names',
        })
        .min(1, 'give at least one field')
        .max(50, 'at most 50 fields per table'),
    ),
  ),
});
export type ValidateSchemaInput = z.output<typeof ValidateSchemaInputSchema>;

export const SCHEMA_VALIDATION_ERROR_TYPES = [
  'DATA_SOURCE_NOT_FOUND',
  'DATA_SOURCE_DOWN',
  'TABLE_NOT_FOUND',
  'FIELD_NOT_FOUND',
] as const;

export const SchemaValidationErrorSchema = z.object({
  type: z.enum(SCHEMA_VALIDATION_ERROR_TYPES),
  dataSourceId: z.string(),
  table: z.string().optional(),
  field: z.string().optional(),
  message: z.string(),
});
export type SchemaValidationError = z.infer<typeof SchemaValidationErrorSchema>;

export const ValidateSchemaResultSchema = z.object({
  status: z.literal('success'),
  dataSources: z.number().int(),
  tables: z.number().int(),
  fields: z.number().int(),
});
export type ValidateSchemaResult = z.infer<typeof ValidateSchemaResultSchema>;
