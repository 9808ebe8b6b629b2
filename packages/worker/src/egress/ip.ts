import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as bytes: 4 for IPv4, 16 for IPv6. */
export interface IpAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** A network in CIDR notation (`10.0.0.0/8`, `fe80::/10`); a bare address is a /32 or /128. */
export interface Cidr extends IpAddress {
  prefix: number;
}

function parseIpv4(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  return Uint8Array.from(text.split('.').map(Number));
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!isIPv6(text)) return undefined;
  let head = text;
  let tailV4: Uint8Array | undefined;
  // An embedded dotted quad (`::ffff:1.2.3.4`) stands for the last two groups.
  const lastColon = head.lastIndexOf(':');
  if (head.includes('.', lastColon)) {
    tailV4 = parseIpv4(head.slice(lastColon + 1));
    if (!tailV4) return undefined;
    head = `${head.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const leftGroups = groupsOf(left);
  const rightGroups = right === undefined ? [] : groupsOf(right);
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [
    ...leftGroups,
    ...new Array<number>(right === undefined ? 0 : missing).fill(0),
    ...rightGroups,
  ];
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tailV4) bytes.set(tailV4, 12);
  return bytes;
}

/**
 * Parses an IPv4 or IPv6 literal. A zone (`fe80::1%eth0`) is ignored: the policy is about the
 * address, whatever interface it is reached through.
 */
export function parseIp(text: string): IpAddress | undefined {
  const address = text.split('%')[0] ?? '';
  const v4 = parseIpv4(address);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIpv6(address);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

/** NAT64's well-known prefix `64:ff9b::/96` (RFC 6052): its last 32 bits are an IPv4 address. */
const NAT64_PREFIX = Uint8Array.from([0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]);

/**
 * An IPv4-mapped IPv6 address (`::ffff:169.254.169.254`) reaches the IPv4 host, and so does a NAT64
 * one (`64:ff9b::a9fe:a9fe`) on a network with a NAT64 gateway: the policy must judge either as
 * that IPv4 address.
 */
export function unmapIpv4(ip: IpAddress): IpAddress {
  if (ip.family === 4) return ip;
  const isMapped =
    ip.bytes.subarray(0, 10).every((b) => b === 0) && ip.bytes[10] === 0xff && ip.bytes[11] === 0xff;
  const isNat64 = NAT64_PREFIX.every((b, i) => ip.bytes[i] === b);
  return isMapped || isNat64 ? { family: 4, bytes: ip.bytes.slice(12) } : ip;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  if (rest.length > 0) return undefined;
  const ip = parseIp(address);
  if (!ip || address.includes('%')) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  if (prefixText === undefined) return { ...ip, prefix: max };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > max) return undefined;
  // `::ffff:0:0/96` style rules are judged on the IPv4 side, like the addresses they would match.
  if (ip.family === 6 && prefix >= 96) {
    const v4 = unmapIpv4(ip);
    if (v4.family === 4) return { ...v4, prefix: prefix - 96 };
  }
  return { ...ip, prefix };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  const address = unmapIpv4(ip);
  if (address.family !== cidr.family) return false;
  const fullBytes = Math.floor(cidr.prefix / 8);
  for (let i = 0; i < fullBytes; i++) {
    if (cidr.bytes[i] !== address.bytes[i]) return false;
  }
  const restBits = cidr.prefix % 8;
  if (restBits === 0) return true;
  const mask = (0xff << (8 - restBits)) & 0xff;
  return ((cidr.bytes[fullBytes] ?? 0) & mask) === ((address.bytes[fullBytes] ?? 0) & mask);
}

/** The address as text, IPv4-mapped addresses shown as IPv4 (for logs). */
export function formatIp(ip: IpAddress): string {
  const address = unmapIpv4(ip);
  if (address.family === 4) return Array.from(address.bytes).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((address.bytes[i] ?? 0) << 8) | (address.bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}
