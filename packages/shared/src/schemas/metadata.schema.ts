import { z } from 'zod';
import {
  hasNoLookAlikes,
  isStorableText,
  LOOK_ALIKE_MESSAGE,
  STORABLE_MESSAGE,
  whenObject,
} from './text-rules.js';

const METADATA_MAX_KEYS = 50;
const METADATA_KEY_MAX = 100;
const METADATA_VALUE_MAX = 2000;

/**
 * `metadata` (docs/contract.md §4): a flat object of at most 50 entries, keys 1–100 characters, values strings of
 * at most 2000. The record itself only insists on an object of strings (a nested value is named by
 * its key); the limits are one check that runs even when some value has the wrong type, so every
 * bad key, every bad value and the key count are reported together. A bad key is named
 * `metadata.<key>`, an empty one `metadata`. The JSON Schema still states the limits.
 */
export const MetadataSchema = z
  .record(
    z.string(),
    z.string({ error: 'metadata values must be strings (no nested objects, arrays, numbers or null)' }),
    { error: 'metadata must be an object of string values' },
  )
  .superRefine((metadata, ctx) => {
    const keys = Object.keys(metadata);
    for (const key of keys) {
      // A key that cannot be stored or looks like another is named by its map: echoing it as a
      // field name would carry the very characters that are refused.
      if (!isStorableText(key) || !hasNoLookAlikes(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: isStorableText(key)
            ? LOOK_ALIKE_MESSAGE('metadata keys')
            : STORABLE_MESSAGE('metadata keys'),
        });
        continue;
      }
      if (key.length === 0 || key.length > METADATA_KEY_MAX) {
        ctx.addIssue({
          code: 'custom',
          path: key.length === 0 ? [] : [key],
          message: `metadata keys must be 1–${METADATA_KEY_MAX} characters (got ${
            key.length === 0 ? 'an empty key' : key.length
          })`,
        });
      }
      const value = metadata[key];
      if (typeof value === 'string' && (!isStorableText(value) || !hasNoLookAlikes(value))) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: isStorableText(value)
            ? LOOK_ALIKE_MESSAGE('metadata values')
            : STORABLE_MESSAGE('metadata values'),
        });
      }
      if (typeof value === 'string' && value.length > METADATA_VALUE_MAX) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `metadata values must be at most ${METADATA_VALUE_MAX} characters (got ${value.length})`,
        });
      }
    }
    if (keys.length > METADATA_MAX_KEYS) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `metadata must have at most ${METADATA_MAX_KEYS} keys (got ${keys.length})`,
      });
    }
  }, whenObject)
  .meta({
    propertyNames: { type: 'string', minLength: 1, maxLength: METADATA_KEY_MAX },
    additionalProperties: { type: 'string', maxLength: METADATA_VALUE_MAX },
    maxProperties: METADATA_MAX_KEYS,
  });
