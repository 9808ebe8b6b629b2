import { compileEgressPolicy, SelfTargets, VERIFICATION_CODES } from '@dbconn/shared';
import { describe, expect, it } from 'vitest';
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

  it('uses a numeric IPv4 spelling as the address a resolver would make of it, judged as such', async () => {
    expect(await resolveAllowed('0x7f000001', defaults)).toEqual(['127.0.0.1']);
    const production = compileEgressPolicy({ mode: 'default', refuseLoopback: true, allow: [], deny: [] });
    await expect(resolveAllowed('0x7f.1', production)).rejects.toMatchObject({ code: 'HOST_FORBIDDEN' });
    await expect(resolveAllowed('0xa9fea9fe', defaults)).rejects.toMatchObject({ code: 'HOST_FORBIDDEN' });
  });

  it("refuses the service's own endpoints with SELF_TARGET_FORBIDDEN, even where an allow list opens the address", async () => {
    const open = compileEgressPolicy({ mode: 'strict', allow: ['127.0.0.0/8', '::1'], deny: [] });
    const targets = new SelfTargets(
      [
        { role: 'store', host: '127.0.0.1', port: 5432, database: 'dbconn' },
        { role: 'redis', host: 'localhost', port: 6379 },
      ],
      open,
    );
    const self = (port: number, database = 'reports') => ({ self: { targets, port, database } });
    await expect(resolveAllowed('127.0.0.1', open, self(5432, 'DBCONN'))).rejects.toMatchObject({
      code: 'SELF_TARGET_FORBIDDEN',
    });
    await expect(resolveAllowed('::ffff:127.0.0.1', open, self(6379))).rejects.toMatchObject({
      code: 'SELF_TARGET_FORBIDDEN',
    });
    await expect(resolveAllowed('localhost', open, self(6379))).rejects.toMatchObject({
      code: 'SELF_TARGET_FORBIDDEN',
    });
    // Another database on the store's server, and another port, stay allowed.
    expect(await resolveAllowed('127.0.0.1', open, self(5432, 'reports'))).toEqual(['127.0.0.1']);
    expect(await resolveAllowed('127.0.0.1', open, self(6380))).toEqual(['127.0.0.1']);
  });

  it('reports a name that does not exist as DNS_NOT_FOUND', async () => {
    await expect(resolveAllowed('nothing-here.invalid', defaults)).rejects.toMatchObject({
      code: 'DNS_NOT_FOUND',
    });
  });
});
