import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** An IPv4 or IPv6 address as ipaddr.js parses it. */
export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** A network: an address and a prefix length (`10.0.0.0/8`); a bare address is a /32 or /128. */
export type Cidr = [IpAddress, number];

/**
 * An embedded dotted quad (`::ffff:1.2.3.4`) as two hex groups. ipaddr.js reads `::1.2.3.4` (an
 * IPv4-compatible address, which the kernel does not route to IPv4) as `::ffff:1.2.3.4`; the
 * groups keep the bytes the socket would use.
 */
function hexTail(text: string): string {
  const match = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!match) return text;
  const [a, b, c, d] = match.slice(2).map(Number) as [number, number, number, number];
  return `${match[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/**
 * Parses an IP literal exactly as a socket would take it (`isIP`): dotted-quad IPv4 or IPv6. A
 * zone (`fe80::1%eth0`) is dropped: the policy is about the address, whatever interface reaches it.
 */
export function parseAddress(text: string): IpAddress | undefined {
  const address = text.split('%')[0] ?? '';
  const family = isIP(address);
  if (family === 4) return ipaddr.IPv4.parse(address);
  if (family === 6) return ipaddr.IPv6.parse(hexTail(address));
  return undefined;
}

/**
 * The address a host stands for when it is written as one: an IP literal, or one of the numeric
 * IPv4 spellings the C resolver (inet_aton) accepts and a driver handing the name to getaddrinfo
 * would dial — `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`. Undefined for a host name.
 */
export function literalAddress(host: string): IpAddress | undefined {
  const literal = parseAddress(host);
  if (literal) return literal;
  if (!/^[0-9a-fA-FxX.]+$/.test(host) || !/^[0-9]/.test(host)) return undefined;
  try {
    return ipaddr.IPv4.parse(host);
  } catch {
    return undefined;
  }
}

/** IPv4-mapped (`::ffff:0:0/96`) and IPv4-translated (SIIT, `::ffff:0:0:0/96`): the last 32 bits. */
const MAPPED_NETWORKS: Cidr[] = [ipaddr.parseCIDR('::ffff:0:0/96'), ipaddr.parseCIDR('::ffff:0:0:0/96')];

/** NAT64 prefixes every network may have: RFC 6052's well-known one and RFC 8215's local-use one. */
export const WELL_KNOWN_NAT64_PREFIXES = ['64:ff9b::/96', '64:ff9b:1::/48'] as const;

/** The prefix lengths RFC 6052 §2.2 defines an IPv4 embedding for. */
export const NAT64_PREFIX_LENGTHS = [32, 40, 48, 56, 64, 96] as const;

/** Parses a NAT64 prefix; undefined when it is not IPv6 or has a length RFC 6052 does not define. */
export function parseNat64Prefix(text: string): Cidr | undefined {
  const cidr = parseCidr(text);
  if (cidr?.[0].kind() !== 'ipv6') return undefined;
  return (NAT64_PREFIX_LENGTHS as readonly number[]).includes(cidr[1]) ? cidr : undefined;
}

/** The IPv4 address RFC 6052 §2.2 embeds after a prefix of `length` bits (bits 64–71 are skipped). */
function extractNat64(bytes: number[], length: number): ipaddr.IPv4 {
  const octets: number[] = [];
  for (let i = length / 8; octets.length < 4; i++) {
    if (i !== 8) octets.push(bytes[i] ?? 0);
  }
  return new ipaddr.IPv4(octets);
}

/**
 * The IPv4 address an IPv6 address reaches: a mapped or translated address reaches it directly, a
 * NAT64 address through the network's translator (`nat64` holds the well-known prefixes and the
 * operator's). Undefined for an IPv4 address or an IPv6 address that embeds none.
 */
export function embeddedIpv4(ip: IpAddress, nat64: readonly Cidr[]): ipaddr.IPv4 | undefined {
  if (ip.kind() !== 'ipv6') return undefined;
  const v6 = ip as ipaddr.IPv6;
  const bytes = v6.toByteArray();
  if (MAPPED_NETWORKS.some((cidr) => v6.match(cidr))) return new ipaddr.IPv4(bytes.slice(12));
  const prefix = nat64.find((cidr) => cidr[0].kind() === 'ipv6' && v6.match(cidr));
  return prefix ? extractNat64(bytes, prefix[1]) : undefined;
}

/**
 * `::a.b.c.d`, the IPv4-compatible form RFC 4291 deprecated: nothing should use it, and what a
 * host does with it depends on its tunnels. `::` and `::1` are not in it.
 */
export function isIpv4Compatible(ip: IpAddress): boolean {
  if (ip.kind() !== 'ipv6') return false;
  const parts = (ip as ipaddr.IPv6).parts;
  return parts.slice(0, 6).every((p) => p === 0) && ((parts[6] ?? 0) !== 0 || (parts[7] ?? 0) > 1);
}

/** Parses `10.0.0.0/8`, `fe80::/10`, or a bare address (a /32 or /128); no zone. */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  if (rest.length > 0 || address.includes('%')) return undefined;
  const ip = parseAddress(address);
  if (!ip) return undefined;
  const max = ip.kind() === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return [ip, max];
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= max ? [ip, prefix] : undefined;
}

/** Whether `cidr` contains `ip` (same family only). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return ip.kind() === cidr[0].kind() && ip.match(cidr);
}

/** The address as text, the way logs and comparisons use it (IPv6 in RFC 5952 form). */
export function formatAddress(ip: IpAddress): string {
  return ip.kind() === 'ipv6' ? (ip as ipaddr.IPv6).toRFC5952String() : ip.toString();
}
