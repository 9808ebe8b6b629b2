import { describe, expect, it } from 'vitest';
import { compileEgressPolicy } from '../egress/policy.js';
import { DNS_ERROR_CODES, resolveAllowed, TCP_ERROR_CODES } from './network.js';

const EXPECTED_DNS: Record<string, string> = {
  ENOTFOUND: 'DNS_NOT_FOUND',
  ENODATA: 'DNS_NOT_FOUND',
  EAI_NONAME: 'DNS_NOT_FOUND',
  EAI_NODATA: 'DNS_NOT_FOUND',
  EAI_AGAIN: 'DNS_TEMPORARY',
  ETIMEOUT: 'DNS_TEMPORARY',
  ESERVFAIL: 'DNS_TEMPORARY',
  ECONNREFUSED: 'DNS_TEMPORARY',
  EAI_FAIL: 'DNS_TEMPORARY',
};

const EXPECTED_TCP: Record<string, string> = {
  ECONNREFUSED: 'TCP_REFUSED',
  ETIMEDOUT: 'TCP_TIMEOUT',
  EHOSTUNREACH: 'TCP_UNREACHABLE',
  ENETUNREACH: 'TCP_UNREACHABLE',
  EHOSTDOWN: 'TCP_UNREACHABLE',
  ENETDOWN: 'TCP_UNREACHABLE',
  EADDRNOTAVAIL: 'TCP_UNREACHABLE',
  ECONNRESET: 'TCP_RESET',
  EPIPE: 'TCP_RESET',
};

describe('dns and tcp error tables', () => {
  it('map every resolver code', () => {
    expect(DNS_ERROR_CODES).toEqual(EXPECTED_DNS);
  });

  it('map every connect code', () => {
    expect(TCP_ERROR_CODES).toEqual(EXPECTED_TCP);
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
