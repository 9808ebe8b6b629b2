import { describe, expect, it } from 'vitest';
import { compileEgressPolicy, EgressConfigError } from './policy.js';

const policy = (mode: 'default' | 'strict' = 'default', allow: string[] = [], deny: string[] = []) =>
  compileEgressPolicy({ mode, allow, deny });

describe('egress policy, default mode', () => {
  const check = (address: string, host = 'db.example.com') => policy().checkAddress(host, address);

  it.each([
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd20:ce::254', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['64:ff9b:1:a9fe:a9:fe00::', 'metadata'],
    ['::ffff:0:a9fe:a9fe', 'metadata'],
    ['::169.254.169.254', 'ipv4-compatible'],
    ['::a00:1', 'ipv4-compatible'],
    ['169.254.1.1', 'link-local'],
    ['::ffff:169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['not-an-address', 'invalid-address'],
  ])('refuses %s (%s)', (address, rule) => {
    expect(check(address)).toEqual({ allowed: false, rule });
  });

  it.each([
    '127.0.0.1',
    '::1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    'fc00::1',
    '100.64.0.1',
    '0.0.0.0',
    '::',
    '8.8.8.8',
    '2001:db8::1',
  ])('allows %s', (address) => {
    expect(check(address).allowed).toBe(true);
  });

  it.each([
    'metadata.google.internal',
    'METADATA.GOOGLE.INTERNAL.',
    'metadata.goog',
    'metadata',
    'instance-data',
  ])('refuses the metadata name %s before any lookup', (host) => {
    expect(policy().checkName(host)).toEqual({ allowed: false, rule: 'metadata' });
  });

  it('has no opinion on ordinary names', () => {
    expect(policy().checkName('db.example.com')).toBeUndefined();
  });
});

describe('egress policy, strict mode', () => {
  const check = (address: string) => policy('strict').checkAddress('db.example.com', address);

  it.each([
    '127.0.0.1',
    '127.255.0.1',
    '::1',
    '::ffff:127.0.0.1',
    '64:ff9b::a00:5',
    '64:ff9b:1:7f00:0:100::',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    'fc00::1',
    'fd12:3456::1',
    '100.64.0.1',
    '100.127.255.255',
    '0.0.0.0',
    '::',
  ])('refuses %s', (address) => {
    expect(check(address)).toEqual({ allowed: false, rule: 'strict-private' });
  });

  it('still refuses metadata as metadata', () => {
    expect(check('169.254.169.254')).toEqual({ allowed: false, rule: 'metadata' });
  });

  it.each(['8.8.8.8', '172.32.0.1', '100.128.0.1', '2001:db8::1', '192.169.0.1'])('allows %s', (address) => {
    expect(check(address).allowed).toBe(true);
  });
});

describe('allow and deny lists', () => {
  it('allow CIDRs win over the built-in refusals, metadata included', () => {
    const p = policy('strict', ['127.0.0.0/8', '169.254.169.254/32', 'fe80::/10']);
    expect(p.checkAddress('h', '127.0.0.1')).toEqual({ allowed: true, rule: 'allow-list' });
    expect(p.checkAddress('h', '169.254.169.254')).toEqual({ allowed: true, rule: 'allow-list' });
    expect(p.checkAddress('h', '::ffff:169.254.169.254')).toEqual({ allowed: true, rule: 'allow-list' });
    expect(p.checkAddress('h', 'fe80::9')).toEqual({ allowed: true, rule: 'allow-list' });
    expect(p.checkAddress('h', '10.0.0.1')).toEqual({ allowed: false, rule: 'strict-private' });
  });

  it('allow names win for every address of that name, exact or by wildcard', () => {
    const p = policy('strict', ['db.internal', '*.corp.example']);
    expect(p.checkAddress('db.internal', '10.0.0.1').allowed).toBe(true);
    expect(p.checkAddress('DB.Internal.', '10.0.0.1').allowed).toBe(true);
    expect(p.checkAddress('a.b.corp.example', '192.168.1.1').allowed).toBe(true);
    expect(p.checkAddress('corp.example', '192.168.1.1').allowed).toBe(false);
    expect(p.checkAddress('other.internal', '10.0.0.1').allowed).toBe(false);
    expect(p.checkName('db.internal')).toEqual({ allowed: true, rule: 'allow-list' });
  });

  it('an allowed name does not open a metadata address (its DNS may point anywhere); an allowed CIDR does', () => {
    expect(policy('default', ['db.internal']).checkAddress('db.internal', '169.254.169.254')).toEqual({
      allowed: false,
      rule: 'metadata',
    });
    expect(policy('default', ['db.internal']).checkAddress('db.internal', '169.254.1.1').allowed).toBe(true);
    expect(
      policy('default', ['169.254.169.254']).checkAddress('db.internal', '169.254.169.254').allowed,
    ).toBe(true);
  });

  it('deny CIDRs and names always refuse, even what is also allowed', () => {
    const p = policy(
      'default',
      ['10.0.0.0/8', 'db.internal'],
      ['10.9.0.0/16', 'db.internal', '*.bad.example', '2001:db8::/32'],
    );
    expect(p.checkAddress('x', '10.9.1.1')).toEqual({ allowed: false, rule: 'deny-list' });
    expect(p.checkAddress('x', '::ffff:10.9.1.1')).toEqual({ allowed: false, rule: 'deny-list' });
    expect(p.checkAddress('x', '10.8.1.1')).toEqual({ allowed: true, rule: 'allow-list' });
    expect(p.checkAddress('db.internal', '10.8.1.1')).toEqual({ allowed: false, rule: 'deny-list' });
    expect(p.checkName('db.internal')).toEqual({ allowed: false, rule: 'deny-list' });
    expect(p.checkName('x.bad.example')).toEqual({ allowed: false, rule: 'deny-list' });
    expect(p.checkAddress('ok.example', '2001:db8::5')).toEqual({ allowed: false, rule: 'deny-list' });
  });

  it('names a bad list entry', () => {
    expect(() => policy('default', ['not a host!'])).toThrow(EgressConfigError);
    expect(() => policy('default', [], ['10.0.0.0/99'])).toThrow(/EGRESS_DENY/);
  });

  it('ignores empty entries', () => {
    expect(() => policy('default', ['', ' '], [''])).not.toThrow();
  });
});

describe('production (refuseLoopback) in the default mode', () => {
  const production = (allow: string[] = []) =>
    compileEgressPolicy({ mode: 'default', refuseLoopback: true, allow, deny: [] });

  it.each(['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '64:ff9b::7f00:1', '0.0.0.0', '::'])(
    'refuses %s as loopback',
    (address) => {
      expect(production().checkAddress('db.example.com', address)).toEqual({
        allowed: false,
        rule: 'loopback',
      });
    },
  );

  it('still allows private ranges, and an allow list reopens loopback', () => {
    expect(production().checkAddress('h', '10.1.2.3').allowed).toBe(true);
    expect(production(['127.0.0.1']).checkAddress('h', '127.0.0.1')).toEqual({
      allowed: true,
      rule: 'allow-list',
    });
    expect(production(['db.local']).checkAddress('db.local', '::1')).toEqual({
      allowed: true,
      rule: 'allow-list',
    });
  });
});

describe('operator NAT64 prefixes', () => {
  it('judges an address in one as the IPv4 address it embeds', () => {
    const p = compileEgressPolicy({
      mode: 'default',
      allow: [],
      deny: [],
      nat64Prefixes: ['2001:db8:64::/96'],
    });
    expect(p.checkAddress('h', '2001:db8:64::a9fe:a9fe')).toEqual({ allowed: false, rule: 'metadata' });
    expect(policy().checkAddress('h', '2001:db8:64::a9fe:a9fe').allowed).toBe(true);
    expect(p.effectiveAddress('2001:db8:64::7f00:1')).toBe('127.0.0.1');
  });

  it('names a prefix of a length RFC 6052 does not define', () => {
    expect(() =>
      compileEgressPolicy({ mode: 'default', allow: [], deny: [], nat64Prefixes: ['2001:db8::/50'] }),
    ).toThrow(/EGRESS_NAT64_PREFIXES/);
  });
});

describe('allow lists per organization (EGRESS_TENANT_ALLOW)', () => {
  const p = compileEgressPolicy({
    mode: 'strict',
    allow: [],
    deny: ['10.1.9.0/24'],
    tenantAllow: { 'tenant-a': ['10.1.0.0/16', 'db.internal'], 'tenant-b': ['192.168.5.0/24'] },
  });

  it("opens the organization's networks and names for that organization only", () => {
    expect(p.checkAddress('h', '10.1.2.3', 'tenant-a')).toEqual({ allowed: true, rule: 'allow-list' });
    expect(p.checkAddress('h', '10.1.2.3', 'tenant-b')).toEqual({ allowed: false, rule: 'strict-private' });
    expect(p.checkAddress('h', '10.1.2.3')).toEqual({ allowed: false, rule: 'strict-private' });
    expect(p.checkAddress('db.internal', '10.200.0.1', 'tenant-a').allowed).toBe(true);
    expect(p.checkAddress('db.internal', '10.200.0.1', 'tenant-b').allowed).toBe(false);
    expect(p.checkName('db.internal', 'tenant-a')).toEqual({ allowed: true, rule: 'allow-list' });
    expect(p.checkName('db.internal', 'tenant-b')).toBeUndefined();
  });

  it('never overrides the deny list, nor opens metadata through a name', () => {
    expect(p.checkAddress('h', '10.1.9.1', 'tenant-a')).toEqual({ allowed: false, rule: 'deny-list' });
    expect(p.checkAddress('db.internal', '169.254.169.254', 'tenant-a')).toEqual({
      allowed: false,
      rule: 'metadata',
    });
  });

  it('names the organization of a bad entry', () => {
    expect(() =>
      compileEgressPolicy({ mode: 'strict', allow: [], deny: [], tenantAllow: { t1: ['not a host!'] } }),
    ).toThrow(/EGRESS_TENANT_ALLOW \(t1\)/);
  });
});
