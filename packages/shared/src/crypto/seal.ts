import { createCipheriv, createDecipheriv, type DecipherGCM, hkdfSync } from 'node:crypto';
import { randomBytesPooled } from '../random.js';

/**
 * Sealing of a connection's secrets (docs/contract.md §8): AES-256-GCM under a key derived with HKDF-SHA256
 * from a versioned master key; the organization and connection id are the associated data, so a
 * sealed blob copied onto another connection does not open.
 *
 * Format: `v<keyVersion>.<iv b64url>.<tag b64url>.<ciphertext b64url>` — the key version travels
 * with the ciphertext, so several master keys can be live during a rotation.
 */
export interface Keyring {
  keys: ReadonlyMap<number, Buffer>;
}

export interface SealContext {
  organizationId: string;
  connectionId: string;
}

const HKDF_SALT = Buffer.from('dbconn/connection-secrets');
/** Bytes of the GCM tag `seal` writes (the full tag, the cipher's default). */
const TAG_LENGTH = 16;
const derived = new WeakMap<Buffer, Buffer>();

function deriveKey(master: Buffer, version: number): Buffer {
  const cached = derived.get(master);
  if (cached) return cached;
  const key = Buffer.from(hkdfSync('sha256', master, HKDF_SALT, `aes-256-gcm:v${version}`, 32));
  derived.set(master, key);
  return key;
}

export function currentKeyVersion(ring: Keyring): number {
  return Math.max(...ring.keys.keys());
}

const aad = (ctx: SealContext) => Buffer.from(`${ctx.organizationId}\u0000${ctx.connectionId}`);

export function seal(ring: Keyring, plaintext: string, ctx: SealContext): string {
  const version = currentKeyVersion(ring);
  const key = deriveKey(ring.keys.get(version) as Buffer, version);
  const iv = randomBytesPooled(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(ctx));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    `v${version}`,
    iv.toString('base64url'),
    tag.toString('base64url'),
    ciphertext.toString('base64url'),
  ].join('.');
}

export class SealError extends Error {
  override name = 'SealError';
}

export function sealedKeyVersion(sealed: string): number {
  const match = /^v(\d+)\./.exec(sealed);
  if (!match) throw new SealError('sealed value has no key version');
  return Number(match[1]);
}

export function open(ring: Keyring, sealed: string, ctx: SealContext): string {
  const parts = sealed.split('.');
  if (parts.length !== 4) throw new SealError('sealed value is malformed');
  const version = sealedKeyVersion(sealed);
  const master = ring.keys.get(version);
  if (!master) throw new SealError(`no master key with version ${version} is configured`);
  const [, iv, tag, ciphertext] = parts as [string, string, string, string];
  let decipher: DecipherGCM;
  try {
    // A fixed tag length: without it GCM also accepts a truncated (4–15 byte) tag, which is weaker.
    decipher = createDecipheriv('aes-256-gcm', deriveKey(master, version), Buffer.from(iv, 'base64url'), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(aad(ctx));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  } catch (cause) {
    // Node throws a TypeError for an empty IV or a tag of the wrong length.
    throw new SealError('sealed value is malformed', { cause });
  }
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch (cause) {
    throw new SealError('sealed value does not open with this key and context', { cause });
  }
}

/** What is sealed per connection: the password and, when given, the TLS material. */
export interface ConnectionSecrets {
  password: string;
  ca?: string;
  cert?: string;
  key?: string;
}

export const sealSecrets = (ring: Keyring, secrets: ConnectionSecrets, ctx: SealContext) =>
  seal(ring, JSON.stringify(secrets), ctx);

export const openSecrets = (ring: Keyring, sealed: string, ctx: SealContext): ConnectionSecrets =>
  JSON.parse(open(ring, sealed, ctx)) as ConnectionSecrets;

/** The associated data of a stored connection's secrets: its organization and id. */
export const connectionSealContext = (record: { organizationId: string; id: string }): SealContext => ({
  organizationId: record.organizationId,
  connectionId: record.id,
});

/**
 * The associated data of a webhook endpoint's signing secrets: the id is prefixed, so an
 * endpoint's sealed value copied onto a connection with the same id (or back) does not open.
 */
export const webhookSealContext = (record: { organizationId: string; id: string }): SealContext => ({
  organizationId: record.organizationId,
  connectionId: `webhook:${record.id}`,
});

/** The secrets of a stored connection (sealed with its organization and id); throws SealError. */
export const openStoredSecrets = (
  ring: Keyring,
  record: { organizationId: string; id: string; sealedSecrets: string },
): ConnectionSecrets => openSecrets(ring, record.sealedSecrets, connectionSealContext(record));
