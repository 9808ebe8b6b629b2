import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  currentKeyVersion,
  open,
  openSecrets,
  SealError,
  seal,
  sealedKeyVersion,
  sealSecrets,
} from './seal.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const ctx = { organizationId: 'org-1', connectionId: '0190a6b2-0000-7000-8000-000000000001' };

describe('sealing of connection secrets', () => {
  it('round-trips and never contains the plaintext', () => {
    const ring = { keys: new Map([[1, k1]]) };
    const sealed = seal(ring, 'secretpassword', ctx);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('secretpassword');
    expect(open(ring, sealed, ctx)).toBe('secretpassword');
  });

  it('uses a fresh IV each time', () => {
    const ring = { keys: new Map([[1, k1]]) };
    expect(seal(ring, 'x', ctx)).not.toBe(seal(ring, 'x', ctx));
  });

  it('binds the organization and connection id: a blob moved to another connection does not open', () => {
    const ring = { keys: new Map([[1, k1]]) };
    const sealed = seal(ring, 'pw', ctx);
    expect(() => open(ring, sealed, { ...ctx, connectionId: 'other' })).toThrow(SealError);
    expect(() => open(ring, sealed, { ...ctx, organizationId: 'org-2' })).toThrow(SealError);
  });

  it('detects tampering', () => {
    const ring = { keys: new Map([[1, k1]]) };
    const [v, iv, tag, ct] = seal(ring, 'password', ctx).split('.') as [string, string, string, string];
    const flipped = Buffer.from(ct, 'base64url');
    flipped[0] = (flipped[0] as number) ^ 1;
    expect(() => open(ring, [v, iv, tag, flipped.toString('base64url')].join('.'), ctx)).toThrow(SealError);
    expect(() => open(ring, 'garbage', ctx)).toThrow(SealError);
  });

  it('refuses a damaged IV or tag with a SealError, and a truncated tag too', () => {
    const ring = { keys: new Map([[1, k1]]) };
    const [v, iv, tag, ct] = seal(ring, 'password', ctx).split('.') as [string, string, string, string];
    for (const damaged of [
      [v, '', tag, ct],
      [v, iv, '', ct],
      [v, iv, 'AA', ct],
      // The first 12 of the 16 tag bytes: GCM would check just those unless the length is pinned.
      [v, iv, Buffer.from(tag, 'base64url').subarray(0, 12).toString('base64url'), ct],
    ]) {
      expect(() => open(ring, damaged.join('.'), ctx)).toThrow(SealError);
    }
  });

  it('seals with the newest key version and opens any configured version (rotation)', () => {
    const old = { keys: new Map([[1, k1]]) };
    const rotated = {
      keys: new Map([
        [1, k1],
        [2, k2],
      ]),
    };
    const before = seal(old, 'pw-old', ctx);
    const after = seal(rotated, 'pw-new', ctx);
    expect(currentKeyVersion(rotated)).toBe(2);
    expect(sealedKeyVersion(before)).toBe(1);
    expect(sealedKeyVersion(after)).toBe(2);
    expect(open(rotated, before, ctx)).toBe('pw-old');
    expect(open(rotated, after, ctx)).toBe('pw-new');
    expect(() => open(old, after, ctx)).toThrow(/no master key with version 2/);
  });

  it('a different master key under the same version does not open', () => {
    const sealed = seal({ keys: new Map([[1, k1]]) }, 'pw', ctx);
    expect(() => open({ keys: new Map([[1, k2]]) }, sealed, ctx)).toThrow(SealError);
  });

  it('seals all of a connection secrets together', () => {
    const ring = { keys: new Map([[3, k2]]) };
    const secrets = { password: 'pw', ca: 'CA', cert: 'CERT', key: 'KEY' };
    expect(openSecrets(ring, sealSecrets(ring, secrets, ctx), ctx)).toEqual(secrets);
  });
});
