import { describe, expect, it } from 'vitest';
import {
  type Cidr,
  cidrContains,
  embeddedIpv4,
  formatAddress,
  isIpv4Compatible,
  literalAddress,
  parseAddress,
  parseCidr,
  parseNat64Prefix,
  WELL_KNOWN_NAT64_PREFIXES,
} from './address.js';

const wellKnown = WELL_KNOWN_NAT64_PREFIXES.map((p) => parseCidr(p) as Cidr);
const must = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error('bad test input');
  return value;
};

describe('parseAddress: what a socket takes', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::ffff:169.254.169.254', '::ffff:a9fe:a9fe'],
    // The deprecated IPv4-compatible form keeps its bytes (ipaddr.js alone would read it as mapped).
    ['::169.254.169.254', '::a9fe:a9fe'],
    ['64:ff9b::169.254.169.254', '64:ff9b::a9fe:a9fe'],
  ])('parses %s as %s', (text, expected) => {
    expect(formatAddress(must(parseAddress(text)))).toBe(expected);
  });

  it.each(['localhost', '256.1.1.1', '1.2.3', '2130706433', '0x7f000001', '::g', '', '1:2:3:4:5:6:7:8:9'])(
    'is not an address: %j',
    (text) => {
      expect(parseAddress(text)).toBeUndefined();
    },
  );
});

describe('literalAddress: the address a host written as a number stands for', () => {
  it.each([
    ['169.254.169.254', '169.254.169.254'],
    ['2852039166', '169.254.169.254'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['0251.0376.0251.0376', '169.254.169.254'],
    ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'],
    ['127.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '::ffff:7f00:1'],
  ])('%s is %s', (host, expected) => {
    expect(formatAddress(must(literalAddress(host)))).toBe(expected);
  });

  it.each(['db.example.com', 'deadbeef', '1e3', '4294967296', '1.2.3.4.5', 'localhost'])(
    'a name stays a name: %s',
    (host) => {
      expect(literalAddress(host)).toBeUndefined();
    },
  );
});

describe('embeddedIpv4: the IPv4 address an IPv6 address reaches', () => {
  const v4 = (text: string, nat64 = wellKnown) => embeddedIpv4(must(parseAddress(text)), nat64)?.toString();

  it.each([
    ['::ffff:a9fe:a9fe', '169.254.169.254'],
    ['::ffff:0:a9fe:a9fe', '169.254.169.254'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254'],
    ['64:ff9b::169.254.169.254', '169.254.169.254'],
    // RFC 8215 local-use /48: the IPv4 bits straddle the reserved octet 8.
    ['64:ff9b:1:a9fe:a9:fe00::', '169.254.169.254'],
    ['64:ff9b:1:7f00:0:100::', '127.0.0.1'],
  ])('%s reaches %s', (address, expected) => {
    expect(v4(address)).toBe(expected);
  });

  it('uses the operator prefixes too, at every RFC 6052 length', () => {
    const operator = ['2001:db8:100::/40', '2001:db8:200::/96', '2001:db8:300::/32'].map((p) =>
      must(parseNat64Prefix(p)),
    );
    expect(v4('2001:db8:1a9:fea9:fe::', operator)).toBe('169.254.169.254');
    expect(v4('2001:db8:200::a9fe:a9fe', operator)).toBe('169.254.169.254');
    expect(v4('2001:db8:a9fe:a9fe::', operator)).toBe('169.254.169.254');
    expect(v4('2001:db8:200::a9fe:a9fe')).toBeUndefined();
  });

  it.each(['2001:db8::a9fe:a9fe', '::1', 'fe80::1'])('%s embeds none', (address) => {
    expect(v4(address)).toBeUndefined();
  });

  it('refuses NAT64 prefixes of a length RFC 6052 does not define', () => {
    expect(parseNat64Prefix('2001:db8::/50')).toBeUndefined();
    expect(parseNat64Prefix('10.0.0.0/8')).toBeUndefined();
    expect(parseNat64Prefix('2001:db8::/64')).toBeDefined();
  });
});

describe('isIpv4Compatible', () => {
  it.each([
    ['::169.254.169.254', true],
    ['::a9fe:a9fe', true],
    ['::2', true],
    ['::1', false],
    ['::', false],
    ['::ffff:1.2.3.4', false],
    ['1.2.3.4', false],
  ])('%s: %s', (address, expected) => {
    expect(isIpv4Compatible(must(parseAddress(address)))).toBe(expected);
  });
});

describe('parseCidr and cidrContains', () => {
  const contains = (cidr: string, address: string) =>
    cidrContains(must(parseCidr(cidr)), must(parseAddress(address)));

  it.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['169.254.169.254', '169.254.169.254', true],
    ['169.254.169.254', '169.254.169.253', false],
    ['fe80::/10', 'febf::1', true],
    ['fe80::/10', 'fec0::1', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['::/0', '2001:db8::1', true],
    // families never mix
    ['0.0.0.0/0', '::1', false],
    ['::/0', '1.2.3.4', false],
  ])('%s contains %s: %s', (cidr, address, expected) => {
    expect(contains(cidr, address)).toBe(expected);
  });

  it.each([
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/-1',
    '10.0.0.0/8/8',
    'example.com',
    'fe80::1%eth0/64',
    '10.0.0.0/x',
  ])('rejects %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});
