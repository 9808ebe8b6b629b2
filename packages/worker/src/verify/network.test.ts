import { VERIFICATION_CODES } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
import { compileEgressPolicy } from '../egress/policy.js';
import { DNS_ERROR_CODES, resolveAllowed, TCP_ERROR_CODES } from './network.js';

// Rows driven through real sockets: test/network.int.test.ts (ECONNREFUSED), and below (a name
// that does not exist).
describe('dns and tcp error tables', () => {
  it.each(Object.entries(DNS_ERROR_CODES))('resolver code %s maps to a code of the dns stage', (_, code) => {
    expect(VERIFICATION_CODES[code].stages).toEqual(['dns']);
  });

  it.each(Object.entries(TCP_ERROR_CODES))('connect code %s maps to a code of the tcp stage', (_, code) => {
    expect(VERIFICATION_CODES[code].stages).toEqual(['tcp']);
  });
});

describe('resolveAllowed', () => {
  const defaults = compileEgressPolicy({ mode: 'default', allow: [], deny: [] });

  it('uses an IP literal as is, without a lookup', async () => {
    expect(await resolveAllowed('10.1.2.3', defaults)).toEqual(['10.1.2.3']);
    expect(await resolveAllowed('::1', defaults)).toEqual(['::1']);
  });

  it('refuses a literal the policy refuses, with the generic HOST_FORBIDDEN', async () => {
    await expect(resolveAllowed('169.254.169.254', defaults)).rejects.toMatchObject({
      code: 'HOST_FORBIDDEN',
    });
    await expect(resolveAllowed('::ffff:169.254.169.254', defaults)).rejects.toMatchObject({
      code: 'HOST_FORBIDDEN',
    });
  });

  it('refuses a denied or metadata name without resolving it', async () => {
    const deny = compileEgressPolicy({ mode: 'default', allow: [], deny: ['*.internal.example'] });
    await expect(resolveAllowed('db.internal.example', deny)).rejects.toMatchObject({
      code: 'HOST_FORBIDDEN',
    });
    await expect(resolveAllowed('metadata.google.internal', defaults)).rejects.toMatchObject({
      code: 'HOST_FORBIDDEN',
    });
  });

  it('checks every address a name resolves to', async () => {
    expect(await resolveAllowed('localhost', defaults)).toContain('127.0.0.1');
    const strict = compileEgressPolicy({ mode: 'strict', allow: [], deny: [] });
    await expect(resolveAllowed('localhost', strict)).rejects.toMatchObject({ code: 'HOST_FORBIDDEN' });
  });

  it('reports a name that does not exist as DNS_NOT_FOUND', async () => {
    await expect(resolveAllowed('nothing-here.invalid', defaults)).rejects.toMatchObject({
      code: 'DNS_NOT_FOUND',
    });
  });
});
