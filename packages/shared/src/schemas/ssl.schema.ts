import { createPrivateKey, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { isStorableText, STORABLE_MESSAGE, whenObject } from './text-rules.js';

const PEM_MAX_BYTES = 64 * 1024;

export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

export type SslMode = (typeof SSL_MODES)[number];

/**
 * Engine-native spellings accepted for `ssl.mode`, normalised to libpq's vocabulary (docs/contract.md §5).
 * MySQL (Go driver / ssl-mode), SQL Server (`encrypt=`) and MongoDB (`tls=`) spellings.
 */
export const SSL_MODE_ALIASES: Record<string, SslMode> = {
  disable: 'disable',
  disabled: 'disable',
  false: 'disable',
  prefer: 'prefer',
  preferred: 'prefer',
  require: 'require',
  required: 'require',
  'skip-verify': 'require',
  insecure: 'require',
  'verify-ca': 'verify-ca',
  verify_ca: 'verify-ca',
  'verify-full': 'verify-full',
  verify_identity: 'verify-full',
  true: 'verify-full',
  strict: 'verify-full',
};

export const SslModeSchema = z
  .string({ error: (i) => (i.input === undefined ? 'ssl.mode is required' : 'ssl.mode must be a string') })
  .trim()
  .toLowerCase()
  .refine((m) => m in SSL_MODE_ALIASES, {
    error: `ssl.mode must be one of ${SSL_MODES.join(', ')} (or an engine alias: ${Object.keys(
      SSL_MODE_ALIASES,
    )
      .filter((a) => !(SSL_MODES as readonly string[]).includes(a))
      .join(', ')})`,
  })
  .transform((m) => SSL_MODE_ALIASES[m] as SslMode);

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/** Why `text` is not one or more parseable certificates (`ssl.ca` may be a bundle), or undefined. */
function certificateProblem(text: string): string | undefined {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0)
    return 'must be PEM text (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)';
  for (const [block, label] of blocks) {
    if (label !== 'CERTIFICATE') return `must hold certificates only (found ${label})`;
    try {
      new X509Certificate(block);
    } catch {
      return 'holds a certificate that does not parse (damaged or truncated PEM)';
    }
  }
  return undefined;
}

/** Why `text` is not an unencrypted private key, or undefined. */
function privateKeyProblem(text: string): string | undefined {
  try {
    createPrivateKey({ key: text, format: 'pem' });
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === 'ERR_MISSING_PASSPHRASE'
      ? 'is an encrypted private key; give it unencrypted (it is sealed at rest)'
      : 'must be a PEM private key that parses (damaged or truncated PEM)';
  }
}

/**
 * PEM material, parsed at input (node's X509Certificate / createPrivateKey): a certificate or key
 * that does not parse is a 400 naming the field, not a TLS failure at the next verification.
 */
const pem = (what: string, problemOf: (text: string) => string | undefined) =>
  z
    .string({ error: `${what} must be a string of PEM text` })
    .refine(isStorableText, { error: STORABLE_MESSAGE(what), abort: true })
    .refine((v) => Buffer.byteLength(v) <= PEM_MAX_BYTES, {
      error: `${what} must be at most 64 KiB`,
      abort: true,
    })
    .superRefine((v, ctx) => {
      const problem = problemOf(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `${what} ${problem}` });
    });

export const SslInputSchema = z
  .strictObject(
    {
      mode: SslModeSchema,
      ca: pem('ssl.ca', certificateProblem).optional(),
      cert: pem('ssl.cert', certificateProblem).optional(),
      key: pem('ssl.key', privateKeyProblem).optional(),
    },
    { error: 'ssl must be an object' },
  )
  .superRefine((ssl, ctx) => {
    if ((ssl.cert === undefined) !== (ssl.key === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [ssl.cert === undefined ? 'cert' : 'key'],
        message: 'ssl.cert and ssl.key must be given together',
      });
    }
  }, whenObject);
