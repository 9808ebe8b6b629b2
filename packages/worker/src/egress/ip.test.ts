import { describe, expect, it } from 'vitest';
import { cidrContains, formatIp, parseCidr, parseIp, unmapIpv4 } from './ip.js';

describe('parseIp', () => {
  it.each([
    ['127.0.0.1', 4, [127, 0, 0, 1]],
    ['::1', 6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['fe80::1%eth0', 6, [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['::ffff:169.254.169.254', 6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254]],
    ['fd00:ec2::254', 6, [0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54]],
    ['1:2:3:4:5:6:7:8', 6, [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
  ])('parses %s', (text, family, bytes) => {
    const ip = parseIp(text);
    expect(ip?.family).toBe(family);
    expect(Array.from(ip?.bytes ?? [])).toEqual(bytes);
  });

  it.each(['localhost', '256.1.1.1', '1.2.3', '::g', '', '1:2:3:4:5:6:7:8:9'])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });
});

describe('unmapIpv4', () => {
  it('turns an IPv4-mapped IPv6 address into the IPv4 address it reaches', () => {
    const ip = unmapIpv4(parseIp('::ffff:a9fe:a9fe') ?? { family: 4, bytes: new Uint8Array() });
    expect(ip.family).toBe(4);
    expect(formatIp(ip)).toBe('169.254.169.254');
  });

  it('turns a NAT64 address (64:ff9b::/96) into the IPv4 address a NAT64 gateway would reach', () => {
    const ip = parseIp('64:ff9b::a9fe:a9fe');
    expect(ip && formatIp(unmapIpv4(ip))).toBe('169.254.169.254');
  });

  it('leaves other IPv6 addresses alone', () => {
    const ip = parseIp('2001:db8::a9fe:a9fe');
    expect(ip && unmapIpv4(ip).family).toBe(6);
    const local = parseIp('64:ff9b:1::a9fe:a9fe');
    expect(local && unmapIpv4(local).family).toBe(6);
  });
});

describe('parseCidr and cidrContains', () => {
  const contains = (cidr: string, address: string) => {
    const network = parseCidr(cidr);
    const ip = parseIp(address);
    if (!network || !ip) throw new Error(`bad test input ${cidr} ${address}`);
    return cidrContains(network, ip);
  };

  it.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['100.64.0.0/10', '100.127.0.1', true],
    ['100.64.0.0/10', '100.128.0.1', false],
    ['169.254.169.254', '169.254.169.254', true],
    ['169.254.169.254', '169.254.169.253', false],
    ['fe80::/10', 'febf::1', true],
    ['fe80::/10', 'fec0::1', false],
    ['fc00::/7', 'fdff::1', true],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['::/0', '2001:db8::1', true],
    // mapped addresses are judged on the IPv4 side
    ['169.254.0.0/16', '::ffff:169.254.1.1', true],
    ['::ffff:10.0.0.0/104', '10.1.2.3', true],
    // families never mix
    ['0.0.0.0/0', '::1', false],
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
