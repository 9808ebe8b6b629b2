import { AppError, type FieldError, ProductNameSchema, toFieldErrors } from '@dbconn/shared';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';

export const PRODUCT_HEADER = 'x-product-name';

interface Part {
  schema: z.ZodType;
  value: unknown;
  prefix?: string;
  /** A header part: its errors count as INVALID_HEADER when nothing else is wrong. */
  header?: boolean;
}

/**
 * `If-Match: 3`, `"3"` or `W/"3"` → 3. Absent, or `*` ("whatever version exists": the 404 of a
 * missing connection already covers it) → undefined, no version precondition.
 */
export const IfMatchSchema = z
  .string()
  .regex(/^(\*|(W\/)?"?\d{1,9}"?)$/, 'If-Match must be the connection version, e.g. "3"')
  .transform((v) => (v === '*' ? undefined : Number(v.replace(/\D/g, ''))))
  .optional();

/**
 * Parses the product header and the other parts of a request together, so one 400 names every bad
 * field at once. A request whose only problem is the header answers INVALID_HEADER.
 */
export function parseRequest<T extends Record<string, Part>>(
  req: FastifyRequest,
  parts: T,
  product: { required: boolean },
): { productName: string | undefined } & { [K in keyof T]: z.output<T[K]['schema']> } {
  const errors: FieldError[] = [];
  let headerBad = false;
  const raw = req.headers[PRODUCT_HEADER];
  let productName: string | undefined;
  if (raw === undefined) {
    if (product.required) {
      headerBad = true;
      errors.push({ field: 'X-Product-Name', message: 'the X-Product-Name header is required' });
    }
  } else {
    const parsed = ProductNameSchema.safeParse(Array.isArray(raw) ? raw : raw);
    if (parsed.success) productName = parsed.data;
    else {
      headerBad = true;
      const message = Array.isArray(raw)
        ? 'send the X-Product-Name header once'
        : (parsed.error.issues[0]?.message ?? 'invalid').replace('productName', 'X-Product-Name');
      errors.push({ field: 'X-Product-Name', message });
    }
  }
  const out: Record<string, unknown> = { productName };
  let bodyBad = false;
  for (const [name, part] of Object.entries(parts)) {
    const parsed = part.schema.safeParse(part.value);
    if (parsed.success) out[name] = parsed.data;
    else {
      if (part.header) headerBad = true;
      else bodyBad = true;
      errors.push(...toFieldErrors(parsed.error.issues, part.prefix));
    }
  }
  if (errors.length > 0) {
    const code = headerBad && !bodyBad ? 'INVALID_HEADER' : 'VALIDATION_FAILED';
    throw new AppError(code, `Invalid ${errors.map((e) => e.field).join(', ')}`, { errors });
  }
  return out as never;
}

/** `?metadata.team=x&metadata.env=y` → `{ metadata: { team: 'x', env: 'y' } }`; other keys as they are. */
export function foldMetadataQuery(query: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (key.startsWith('metadata.')) metadata[key.slice('metadata.'.length)] = value;
    else out[key] = value;
  }
  if (Object.keys(metadata).length > 0) out.metadata = metadata;
  return out;
}
