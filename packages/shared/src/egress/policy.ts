import {
  type Cidr,
  cidrContains,
  embeddedIpv4,
  formatAddress,
  type IpAddress,
  isIpv4Compatible,
  parseAddress,
  parseCidr,
  parseNat64Prefix,
  WELL_KNOWN_NAT64_PREFIXES,
} from './address.js';

/**
 * Egress policy for user-supplied hosts (docs/contract.md §8). The worker resolves a host once, asks
 * this policy about the name and every address, and dials only a checked address; the API asks it
 * about a host written as an IP literal before anything is stored.
 *
 * Order: an IPv4-compatible address (`::a.b.c.d`) is always refused; an address that embeds an
 * IPv4 address (mapped, translated, NAT64) is judged as that IPv4 address. Then the deny list
 * (CIDRs and names) refuses; the allow lists (global, and the organization's) win over the
 * built-in refusals — except that only an allowed CIDR, not an allowed name, opens a cloud metadata
 * address; cloud metadata and link-local are refused in every mode; `strict` also refuses loopback,
 * private, CGNAT and unspecified ranges; `refuseLoopback` (NODE_ENV=production) refuses loopback
 * and unspecified in the default mode too.
 */
export interface EgressPolicyConfig {
  mode: 'default' | 'strict';
  /** Refuse loopback and unspecified addresses in the default mode too (production). */
  refuseLoopback?: boolean;
  /** CIDRs or host names (`db.example.com`, `*.example.com`) always allowed, unless denied. */
  allow: string[];
  /** CIDRs or host names always refused. */
  deny: string[];
  /** The operator's NAT64 prefixes (RFC 6052 lengths), judged like the well-known ones. */
  nat64Prefixes?: string[];
  /** Allow lists of one organization each (EGRESS_TENANT_ALLOW), keyed by organization id. */
  tenantAllow?: Record<string, string[]>;
}

/**
 * Cloud metadata endpoints: AWS/GCP/Azure/OCI, AWS and GCP over IPv6, Alibaba, and Azure's
 * WireServer (the host's agent channel, never a database).
 */
const METADATA_NETWORKS = [
  '169.254.169.254/32',
  'fd00:ec2::254/128',
  'fd20:ce::254/128',
  '100.100.100.200/32',
  '168.63.129.16/32',
];

/** Names that reach a metadata service without resolving to the addresses above in every setup. */
const METADATA_NAMES = [
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
];

const LINK_LOCAL_NETWORKS = ['169.254.0.0/16', 'fe80::/10'];

/** Loopback, and the unspecified addresses Linux routes to the local host. */
const LOOPBACK_NETWORKS = ['127.0.0.0/8', '::1/128', '0.0.0.0/8', '::/128'];

const PRIVATE_NETWORKS = [
  // private (RFC 1918) and unique-local IPv6
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
  // carrier-grade NAT (RFC 6598)
  '100.64.0.0/10',
];

export type EgressRule =
  | 'deny-list'
  | 'allow-list'
  | 'metadata'
  | 'link-local'
  | 'loopback'
  | 'strict-private'
  | 'ipv4-compatible'
  | 'invalid-address'
  | 'default-allow';

/** The reason is for logs and metrics only: the refusal shown to users stays generic. */
export interface EgressDecision {
  allowed: boolean;
  rule: EgressRule;
}

interface NameRule {
  /** Lower-case name without a trailing dot. */
  name: string;
  /** `*.example.com`: any name below example.com (not example.com itself). */
  isWildcard: boolean;
}

interface RuleSet {
  networks: Cidr[];
  names: NameRule[];
}

export class EgressConfigError extends Error {
  override name = 'EgressConfigError';
}

const HOST_NAME =
  /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function normaliseHostName(host: string): string {
  const lower = host.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function parseNetworks(entries: readonly string[]): Cidr[] {
  return entries.map((entry) => {
    const cidr = parseCidr(entry);
    if (!cidr) throw new EgressConfigError(`not a CIDR: ${entry}`);
    return cidr;
  });
}

function parseRuleSet(entries: readonly string[], listName: string): RuleSet {
  const rules: RuleSet = { networks: [], names: [] };
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const cidr = parseCidr(entry);
    if (cidr) {
      rules.networks.push(cidr);
      continue;
    }
    const name = normaliseHostName(entry);
    if (!HOST_NAME.test(name)) {
      throw new EgressConfigError(`${listName}: "${entry}" is neither a CIDR nor a host name`);
    }
    rules.names.push(
      name.startsWith('*.') ? { name: name.slice(2), isWildcard: true } : { name, isWildcard: false },
    );
  }
  return rules;
}

function parseNat64Prefixes(entries: readonly string[]): Cidr[] {
  return entries.map((entry) => {
    const cidr = parseNat64Prefix(entry);
    if (!cidr) {
      throw new EgressConfigError(
        `EGRESS_NAT64_PREFIXES: "${entry}" is not an IPv6 prefix of length 32, 40, 48, 56, 64 or 96`,
      );
    }
    return cidr;
  });
}

function matchesName(rules: NameRule[], host: string): boolean {
  return rules.some((rule) => (rule.isWildcard ? host.endsWith(`.${rule.name}`) : host === rule.name));
}

function matchesNetwork(networks: Cidr[], ip: IpAddress): boolean {
  return networks.some((cidr) => cidrContains(cidr, ip));
}

const metadataNetworks = parseNetworks(METADATA_NETWORKS);
const linkLocalNetworks = parseNetworks(LINK_LOCAL_NETWORKS);
const loopbackNetworks = parseNetworks(LOOPBACK_NETWORKS);
const privateNetworks = parseNetworks(PRIVATE_NETWORKS);
const metadataNames: NameRule[] = METADATA_NAMES.map((name) => ({ name, isWildcard: false }));
const noRules: RuleSet = { networks: [], names: [] };

export interface EgressPolicy {
  /** Judges the host name alone, before any lookup (deny/allow lists, metadata names). */
  checkName(host: string, organizationId?: string): EgressDecision | undefined;
  /** Judges one resolved address of `host`, for a dial on behalf of `organizationId`. */
  checkAddress(host: string, address: string, organizationId?: string): EgressDecision;
  /**
   * The address a socket to `address` reaches, as text for comparisons: the embedded IPv4 address
   * of a mapped or NAT64 address (with the operator's prefixes), else the address itself.
   */
  effectiveAddress(address: string): string | undefined;
}

/** Compiles the configured lists once; throws {@link EgressConfigError} naming a bad entry. */
export function compileEgressPolicy(config: EgressPolicyConfig): EgressPolicy {
  const allow = parseRuleSet(config.allow, 'EGRESS_ALLOW');
  const deny = parseRuleSet(config.deny, 'EGRESS_DENY');
  const tenants = new Map(
    Object.entries(config.tenantAllow ?? {}).map(([organizationId, entries]) => [
      organizationId,
      parseRuleSet(entries, `EGRESS_TENANT_ALLOW (${organizationId})`),
    ]),
  );
  const nat64 = [
    ...parseNetworks(WELL_KNOWN_NAT64_PREFIXES),
    ...parseNat64Prefixes(config.nat64Prefixes ?? []),
  ];
  const tenantRules = (organizationId: string | undefined) =>
    (organizationId === undefined ? undefined : tenants.get(organizationId)) ?? noRules;

  const checkName = (host: string, organizationId?: string): EgressDecision | undefined => {
    const name = normaliseHostName(host);
    if (matchesName(deny.names, name)) return { allowed: false, rule: 'deny-list' };
    if (matchesName(allow.names, name) || matchesName(tenantRules(organizationId).names, name))
      return { allowed: true, rule: 'allow-list' };
    if (matchesName(metadataNames, name)) return { allowed: false, rule: 'metadata' };
    return undefined;
  };

  const checkAddress = (host: string, address: string, organizationId?: string): EgressDecision => {
    const parsed = parseAddress(address);
    // Anything we cannot parse is not dialled.
    if (!parsed) return { allowed: false, rule: 'invalid-address' };
    if (isIpv4Compatible(parsed)) return { allowed: false, rule: 'ipv4-compatible' };
    // A mapped or NAT64 address reaches the IPv4 host it embeds: judged as that address (a deny
    // rule written for the IPv6 form still refuses it).
    const ip = embeddedIpv4(parsed, nat64) ?? parsed;
    const name = normaliseHostName(host);
    if (matchesNetwork(deny.networks, ip) || matchesNetwork(deny.networks, parsed))
      return { allowed: false, rule: 'deny-list' };
    if (matchesName(deny.names, name)) return { allowed: false, rule: 'deny-list' };
    if (matchesNetwork(allow.networks, ip) || matchesNetwork(tenantRules(organizationId).networks, ip))
      return { allowed: true, rule: 'allow-list' };
    // Only an allowed CIDR opens a metadata address: the DNS of an allowed *name* may not be the
    // operator's to control, and pointing a name at 169.254.169.254 is the classic way in.
    if (matchesNetwork(metadataNetworks, ip)) return { allowed: false, rule: 'metadata' };
    const byName = checkName(host, organizationId);
    if (byName) return byName;
    if (matchesNetwork(linkLocalNetworks, ip)) return { allowed: false, rule: 'link-local' };
    const isLoopback = matchesNetwork(loopbackNetworks, ip);
    if (config.mode === 'strict' && (isLoopback || matchesNetwork(privateNetworks, ip))) {
      return { allowed: false, rule: 'strict-private' };
    }
    if (config.refuseLoopback && isLoopback) return { allowed: false, rule: 'loopback' };
    return { allowed: true, rule: 'default-allow' };
  };

  const effectiveAddress = (address: string): string | undefined => {
    const parsed = parseAddress(address);
    if (!parsed) return undefined;
    return formatAddress(embeddedIpv4(parsed, nat64) ?? parsed);
  };

  return { checkName, checkAddress, effectiveAddress };
}
