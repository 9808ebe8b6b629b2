import { isIP } from 'node:net';
import { z } from 'zod';

const CONTROL_CHARS = /\p{Cc}/u;
/**
 * What no stored or filtered string may hold: NUL (PostgreSQL text and jsonb refuse it) and a lone
 * surrogate (ill-formed UTF-16: it has no UTF-8 form, so a driver would replace it silently or the
 * store would refuse it). With the `u` flag a well-formed pair is one code point, never `Cs`.
 */
const LONE_SURROGATE = /\p{Cs}/u;
/**
 * Format and separator characters (bidi overrides, zero-width spaces, line/paragraph separators)
 * that make two different names look alike; refused in the names people read and in metadata.
 */
const LOOK_ALIKE = /[\p{Cf}\p{Zl}\p{Zp}]/u;

/** Whether a string can be stored and compared as it was sent (no NUL, no lone surrogate). */
export const isStorableText = (value: string) => !value.includes('\u0000') && !LONE_SURROGATE.test(value);
/** Whether a string is free of invisible format and separator characters. */
export const hasNoLookAlikes = (value: string) => !LOOK_ALIKE.test(value);

export const STORABLE_MESSAGE = (what: string) =>
  `${what} must be well-formed text: no NUL character and no lone surrogate (ill-formed UTF-16)`;
export const LOOK_ALIKE_MESSAGE = (what: string) =>
  `${what} must not contain invisible format or separator characters (bidi overrides, zero-width spaces, line separators)`;

/** Any string the service keeps or compares: refuses NUL and lone surrogates, naming `what`. */
export const storableString = (what: string, error?: string) =>
  z.string(error === undefined ? undefined : { error }).refine(isStorableText, STORABLE_MESSAGE(what));
const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * `when` for an object-level check: run it whenever the input was an object, even if some field
 * already failed, so one answer names every bad field (docs/contract.md §4). By default zod skips refinements
 * after any aborting issue, e.g. a type error in an unrelated field. A non-object input keeps its
 * raw value here and has its own issue, so the check does not run on it.
 */
export const whenObject = {
  when: (payload: z.core.ParsePayload) => z.core.util.isPlainObject(payload.value),
};

/**
 * A record's keys checked for NUL and lone surrogates. The issue is on the record itself: naming
 * the key would echo the characters refused (zod's own key check would name it that way).
 */
export const refuseUnstorableKeys =
  (what: string) =>
  (record: Record<string, unknown>, ctx: z.core.$RefinementCtx<Record<string, unknown>>) => {
    if (Object.keys(record).some((key) => !isStorableText(key))) {
      ctx.addIssue({ code: 'custom', path: [], message: STORABLE_MESSAGE(what) });
    }
  };

/** Whether zod already reported something at `key` of the object being checked. */
export const hasIssueAt = (ctx: { issues: readonly z.core.$ZodRawIssue[] }, key: string) =>
  ctx.issues.some((issue) => issue.path?.[0] === key);

/** RFC 1123 host name (≤253, labels ≤63, no leading/trailing hyphen) or an IPv4/IPv6 literal. */
export function isValidHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  // An all-numeric dotted name that is not a valid IPv4 address (e.g. 300.1.1.1) is a typo, not a host.
  if (labels.every((l) => /^\d+$/.test(l))) return false;
  return labels.every((label) => HOST_LABEL.test(label));
}

/**
 * A trimmed text field. Unstorable and (for names people read) look-alike characters are refused
 * before trimming, so one at either end is an error, not silently cut off.
 */
export const trimmed = (min: number, max: number, what: string, options: { lookAlikes?: 'refuse' } = {}) =>
  z
    .string({ error: (i) => (i.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .refine(isStorableText, STORABLE_MESSAGE(what))
    .refine((v) => options.lookAlikes !== 'refuse' || hasNoLookAlikes(v), LOOK_ALIKE_MESSAGE(what))
    .trim()
    .min(min, min === 1 ? `${what} must not be empty` : `${what} must be at least ${min} characters`)
    .max(max, `${what} must be at most ${max} characters`)
    .refine((v) => !CONTROL_CHARS.test(v), `${what} must not contain control characters`);
