import type { z } from 'zod';
import type { FieldError } from '../errors.js';

/**
 * Turns zod issues into one entry per bad field, named as the caller wrote it. Unknown keys are
 * reported under their own names, so `{"pasword": ...}` answers "pasword: unknown field".
 */
export function toFieldErrors(issues: readonly z.core.$ZodIssue[], prefix?: string): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: join(prefix, base ? `${base}.${key}` : key), message: 'unknown field' });
      }
      continue;
    }
    out.push({ field: join(prefix, base) || '(body)', message: issue.message });
  }
  return dedupe(out);
}

function join(prefix: string | undefined, path: string): string {
  if (!prefix) return path;
  return path ? `${prefix}.${path}` : prefix;
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.field}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
