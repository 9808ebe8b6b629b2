import { createHash, timingSafeEqual } from 'node:crypto';

export interface BasicCredentials {
  user: string;
  password: string;
}

/** `Basic <base64(user:password)>` → the pair; anything else → undefined. */
export function parseBasicAuthorization(header: string | undefined): BasicCredentials | undefined {
  const match = header ? /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

// Digests have a fixed length, so timingSafeEqual never throws and the length of the secret does
// not leak through an early return.
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Whether an Authorization header carries the expected credentials. Both halves are compared in
 * constant time and both comparisons always run, so timing says nothing about which one was wrong.
 */
export function hasValidBasicCredentials(header: string | undefined, expected: BasicCredentials): boolean {
  const given = parseBasicAuthorization(header) ?? { user: '', password: '' };
  const userMatches = timingSafeEqual(digest(given.user), digest(expected.user));
  const passwordMatches = timingSafeEqual(digest(given.password), digest(expected.password));
  return userMatches && passwordMatches && header !== undefined;
}
