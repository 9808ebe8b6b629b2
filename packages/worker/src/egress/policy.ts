import type { EgressPolicyConfig } from '../engines/types.js';
import { type Cidr, cidrContains, type IpAddress, parseCidr, parseIp } from './ip.js';

/**
 * Egress policy for user-supplied hosts (docs/contract.md §8). The worker resolves a host once, asks this
 * policy about the name and every address, and dials only a checked address.
 *
 * Order: the deny list (CIDRs and names) always refuses; then the allow list wins over the
 * built-in refusals — except that only an allowed CIDR, not an allowed name, opens a cloud
 * metadata address; cloud metadata and link-local are refused in every mode; `strict` also
 * refuses loopback, private, CGNAT and unspecified ranges.
 */

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

const STRICT_NETWORKS = [
  // loopback
  '127.0.0.0/8',
  '::1/128',
  // private (RFC 1918) and unique-local IPv6
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
  // carrier-grade NAT (RFC 6598)
  '100.64.0.0/10',
  // unspecified / "this network": Linux routes 0.0.0.0 to the local host
  '0.0.0.0/8',
  '::/128',
];

export type EgressRule =
  | 'deny-list'
  | 'allow-list'
  | 'metadata'
  | 'link-local'
  | 'strict-private'
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

function parseNetworks(entries: string[]): Cidr[] {
  return entries.map((entry) => {
    const cidr = parseCidr(entry);
    if (!cidr) throw new EgressConfigError(`not a CIDR: ${entry}`);
    return cidr;
  });
}

function parseRuleSet(entries: string[], listName: string): RuleSet {
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

function matchesName(rules: NameRule[], host: string): boolean {
  return rules.some((rule) => (rule.isWildcard ? host.endsWith(`.${rule.name}`) : host === rule.name));
}

function matchesNetwork(networks: Cidr[], ip: IpAddress): boolean {
  return networks.some((cidr) => cidrContains(cidr, ip));
}

const metadataNetworks = parseNetworks(METADATA_NETWORKS);
const linkLocalNetworks = parseNetworks(LINK_LOCAL_NETWORKS);
const strictNetworks = parseNetworks(STRICT_NETWORKS);

export interface EgressPolicy {
  /** Judges the host name alone, before any lookup (deny/allow lists, metadata names). */
  checkName(host: string): EgressDecision | undefined;
  /** Judges one resolved address of `host`. */
  checkAddress(host: string, address: string): EgressDecision;
}

/** Compiles the configured lists once; throws {@link EgressConfigError} naming a bad entry. */
export function compileEgressPolicy(config: EgressPolicyConfig): EgressPolicy {
  const allow = parseRuleSet(config.allow, 'EGRESS_ALLOW');
  const deny = parseRuleSet(config.deny, 'EGRESS_DENY');
  const metadataNames = METADATA_NAMES.map((name) => ({ name, isWildcard: false }));

  const checkName = (host: string): EgressDecision | undefined => {
    const name = normaliseHostName(host);
    if (matchesName(deny.names, name)) return { allowed: false, rule: 'deny-list' };
    if (matchesName(allow.names, name)) return { allowed: true, rule: 'allow-list' };
    if (matchesName(metadataNames, name)) return { allowed: false, rule: 'metadata' };
    return undefined;
  };

  const checkAddress = (host: string, address: string): EgressDecision => {
    const ip = parseIp(address);
    // Anything we cannot parse is not dialled.
    if (!ip) return { allowed: false, rule: 'invalid-address' };
    const name = normaliseHostName(host);
    if (matchesNetwork(deny.networks, ip) || matchesName(deny.names, name))
      return { allowed: false, rule: 'deny-list' };
    if (matchesNetwork(allow.networks, ip)) return { allowed: true, rule: 'allow-list' };
    // Only an allowed CIDR opens a metadata address: the DNS of an allowed *name* may not be the
    // operator's to control, and pointing a name at 169.254.169.254 is the classic way in.
    if (matchesNetwork(metadataNetworks, ip)) return { allowed: false, rule: 'metadata' };
    const byName = checkName(host);
    if (byName) return byName;
    if (matchesNetwork(linkLocalNetworks, ip)) return { allowed: false, rule: 'link-local' };
    if (config.mode === 'strict' && matchesNetwork(strictNetworks, ip)) {
      return { allowed: false, rule: 'strict-private' };
    }
    return { allowed: true, rule: 'default-allow' };
  };

  return { checkName, checkAddress };
}
